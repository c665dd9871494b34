"""SQL steps (`%%sql` cells and ```sql runbook steps) on the tejun kernel, against a real
PostgreSQL 15 server (tests/python/postgres_cluster.py, one for the module) and SQLite.

Every kernel is driven through jupyter_client, as the protocol tests do, with a sandboxed
Jupyter tree (tests/protocol/kernel_test_support.JupyterSandbox), its working directory a
temporary folder and its environment free of the caller's PG* and DATABASE_URL. Most kernels get
the cluster's URL in DATABASE_URL at start, so that cell code never holds the password; every
iopub message of every cell and every kernel's log (at debug level) are checked for the password,
raw and percent-encoded.

Runs as `python3 -m unittest -v test_sql` in this folder with $TEJUN the tejun binary.
"""

import csv
import pathlib
import re
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
import unittest
import urllib.parse

HERE = pathlib.Path(__file__).resolve().parent
# The shared helpers: tests/python (the PostgreSQL cluster) and tests/protocol (the Jupyter sandbox).
sys.path[:0] = [str(HERE.parent / "python"), str(HERE.parent / "protocol")]

import kernel_test_support as support  # noqa: E402
from kernel_test_support import TIMEOUT  # noqa: E402
from postgres_cluster import PostgresCluster  # noqa: E402
from run_outputs import DATARESOURCE, dataresource, read_saved, step_named, tejun_run  # noqa: E402
from tejun_test_support import Secrets, environment_without, folder_for, free_port  # noqa: E402

KERNEL_NAME = "tejun-sql"
NULL_CELL = '<td class="null"><em>NULL</em></td>'

CLUSTER = None
SECRETS = Secrets()  # texts that must never appear in any output, error or log


def setUpModule():
    global CLUSTER
    CLUSTER = PostgresCluster()
    unittest.addModuleCleanup(CLUSTER.stop)
    SECRETS.extend([CLUSTER.password, urllib.parse.quote(CLUSTER.password, safe="")])
    for database in ("tejun_disconnect", "tejun_shutdown", "tejun_other", "tejun run"):
        CLUSTER.psql(f'create database "{database}"', database="postgres")
    unittest.addModuleCleanup(support.sandbox_for_runs(KERNEL_NAME).close)


def clean_environment(**extra):
    """The sandbox's environment without anything that picks a database, plus EXTRA."""
    return environment_without(("PG",), ("DATABASE_URL",), **extra)


def wait_until(condition, what, seconds=10):
    """Polls CONDITION until it is true; fails naming WHAT after SECONDS."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s: {what}")
        time.sleep(0.05)


def backends(database):
    """How many server processes serve clients on DATABASE (psql's own not counted)."""
    return int(CLUSTER.psql(f"select count(*) from pg_stat_activity where datname = '{database}' "
                            "and backend_type = 'client backend' and pid <> pg_backend_pid()", database="postgres"))


def active_queries(pattern):
    """How many client backends run a query LIKE PATTERN right now (psql's own not counted)."""
    return int(CLUSTER.psql("select count(*) from pg_stat_activity where state = 'active' "
                            f"and query like '{pattern}' and pid <> pg_backend_pid()", database="postgres"))


# ---- what a cell gave ----

class Table:
    """One row-returning statement's display: its three MIME types, read."""

    def __init__(self, data, display_id=None):
        self.data = data
        self.display_id = display_id
        self.text = data.get("text/plain")
        self.html = data.get("text/html")
        self.resource = data.get(DATARESOURCE)

    @property
    def fields(self):
        return [(field["name"], field["type"]) for field in self.resource["schema"]["fields"]]

    @property
    def rows(self):
        return self.resource["data"]

    def text_lines(self):
        """header, rule, data lines, footer of the text/plain table."""
        lines = self.text.rstrip("\n").split("\n")
        if len(lines) < 3 or not re.fullmatch(r"-+(\+-+)*", lines[1]):
            raise AssertionError(f"not a psql-like table (header, ---+--- rule, rows, footer):\n{self.text}")
        return lines[0], lines[1], lines[2:-1], lines[-1]

    def text_rows(self):
        """The data lines of the text/plain table, split into cells (padding kept)."""
        return [line.split("|") for line in self.text_lines()[2]]


class SqlCell(support.RecordedCell):
    """What one execute_request gave (kernel_test_support.RecordedCell), with its tables."""

    def tables(self):
        """Each display_data as it finally reads: later update_display_data with its display_id applied."""
        tables = []
        for message in self.messages:
            content = message["content"]
            display_id = content.get("transient", {}).get("display_id")
            if message["msg_type"] == "display_data":
                tables.append(Table(content["data"], display_id))
            elif message["msg_type"] == "update_display_data":
                for index, table in enumerate(tables):
                    if table.display_id == display_id:
                        tables[index] = Table(content["data"], display_id)
        return tables

    def table(self):
        tables = self.tables()
        if len(tables) != 1:
            raise AssertionError(f"expected one table, got {len(tables)}: {self}")
        return tables[0]


class Kernel(support.LoggedKernel):
    """A tejun kernel started for one test (kernel_test_support.LoggedKernel), its cells checked
    for the password."""

    cell_class = SqlCell

    def __init__(self, environment, cwd, log_path):
        super().__init__(KERNEL_NAME, environment, cwd, log_path, SECRETS)

    def query(self, sql, timeout=TIMEOUT):
        """`%%sql` + SQL on the default connection; its one table."""
        return self.ok("%%sql\n" + sql, timeout).table()


class SqlTestCase(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.root = folder_for(self, "tejun-sql-test-")
        self.work = self.root / "work"  # the kernels' working directory
        self.work.mkdir()
        self.kernels = 0

    def kernel(self, database_url=True, cwd=None, check_log=True, **environment):
        """A fresh kernel in self.work. DATABASE_URL is the cluster's unless database_url is
        False (or a URL); ENVIRONMENT adds variables. With check_log, its log is checked for
        the password when the test ends (turn it off where the cell code itself holds it)."""
        extra = dict(environment)
        if database_url is True:
            extra["DATABASE_URL"] = CLUSTER.url()
        elif database_url:
            extra["DATABASE_URL"] = database_url
        self.kernels += 1
        kernel = Kernel(clean_environment(**extra), cwd or self.work, self.root / f"kernel-{self.kernels}.log")
        self.addCleanup(kernel.close if check_log else kernel.shutdown)
        return kernel

    def assert_sql_error(self, cell, sqlstate, message):
        """An SQLError whose first line starts `ERROR SQLSTATE: MESSAGE`; returns the evalue's lines."""
        self.assertEqual(cell.reply["ename"], "SQLError", str(cell))
        lines = cell.reply["evalue"].split("\n")
        self.assertTrue(lines[0].startswith(f"ERROR {sqlstate}: {message}"), str(cell))
        return lines

    def assert_points_at(self, cell, line_number, source_line, word):
        """The error says `at line N, column C of the SQL:` for WORD in SOURCE_LINE (N counts the
        lines after %%sql: the SQL as a runbook's ```sql fence holds it), quotes that line and puts
        a caret under WORD's first character."""
        column = source_line.index(word) + 1
        lines = cell.reply["evalue"].split("\n")
        self.assertIn(f"at line {line_number}, column {column} of the SQL:", lines, str(cell))
        source = source_line.strip()
        quoted = [index for index, line in enumerate(lines) if line.strip() in (source, source.rstrip(";"))]
        self.assertEqual(len(quoted), 1, f"the line {source_line!r} is not quoted once: {cell}")
        quote = lines[quoted[0]]
        self.assertLess(quoted[0] + 1, len(lines), str(cell))
        caret = lines[quoted[0] + 1]
        self.assertEqual(caret.strip(), "^", str(cell))
        self.assertEqual(caret.index("^"), quote.index(quote.strip()) + source.index(word),
                         f"the caret is not under {word!r}: {cell}")

    def assert_cut(self, cell, shown, total):
        """A result of TOTAL rows cut to the first SHOWN (a column g of 1, 2, ...): one display,
        updated under its display_id, whose footer states both counts."""
        displays = cell.of_type("display_data")
        self.assertEqual(len(displays), 1, str(cell))
        display_id = displays[0].get("transient", {}).get("display_id")
        self.assertTrue(display_id, f"the display has no display_id: {cell}")
        updates = cell.of_type("update_display_data")
        self.assertTrue(updates, f"no update_display_data: {cell}")
        self.assertEqual({u.get("transient", {}).get("display_id") for u in updates}, {display_id})
        table = cell.table()
        _, _, rows, footer = table.text_lines()
        self.assertEqual(len(rows), shown)
        self.assertEqual([int(row) for row in rows], list(range(1, shown + 1)))
        self.assertIn(str(shown), footer)
        self.assertIn(str(total), footer)
        self.assertIn("--out", footer)
        self.assertEqual(table.rows, [{"g": value} for value in range(1, shown + 1)])
        self.assertIn(f">{shown}<", table.html)
        self.assertNotIn(f">{shown + 1}<", table.html)
        return footer


# ---- results: the three MIME types ----

class PostgresResults(SqlTestCase):
    def test_a_two_column_result_reads_like_psql(self):
        k = self.kernel()
        cell = k.ok("%%sql\nselect * from (values (1, 'alice'), (2, null)) as t(id, name) order by id")
        table = cell.table()
        self.assertEqual(table.text.rstrip("\n"), textwrap.dedent("""\
             id | name
            ----+-------
              1 | alice
              2 | NULL
            (2 rows)"""))
        self.assertEqual(table.fields, [("id", "integer"), ("name", "string")])
        self.assertEqual(table.rows, [{"id": 1, "name": "alice"}, {"id": 2, "name": None}])
        self.assertIn("<table", table.html)
        self.assertIn("alice", table.html)
        self.assertEqual(table.html.count(NULL_CELL), 1, table.html)
        self.assertEqual(cell.stdout, "")
        self.assertEqual(cell.stderr, "")

    def test_row_counts_in_the_footer(self):
        k = self.kernel()
        self.assertEqual(k.query("select 1 as one").text_lines()[3], "(1 row)")
        empty = k.query("select 1 as one where false")
        header, _, rows, footer = empty.text_lines()
        self.assertEqual((header.strip(), rows, footer), ("one", [], "(0 rows)"))
        self.assertEqual(empty.rows, [])
        self.assertEqual(empty.fields, [("one", "integer")])

    def test_types_in_all_three_mime_types(self):
        k = self.kernel()
        table = k.query(textwrap.dedent("""\
            select 42 as i, 9007199254740993::bigint as big, 3.14::numeric(5,2) as n, 2.5::float8 as f,
                   'hé' as t, true as yes, false as no, date '2024-02-29' as d,
                   timestamp '2024-02-29 13:45:00' as ts, time '13:45:00' as tm,
                   '{"a": [1, 2]}'::json as j, '{"k": true}'::jsonb as jb"""))
        self.assertEqual(table.fields, [
            ("i", "integer"), ("big", "integer"), ("n", "number"), ("f", "number"), ("t", "string"),
            ("yes", "boolean"), ("no", "boolean"), ("d", "date"), ("ts", "datetime"), ("tm", "time"),
            ("j", "object"), ("jb", "object")])
        self.assertEqual(len(table.rows), 1)
        row = table.rows[0]
        # JSON numbers (not strings), an int64 past 2^53 exact, booleans as true/false.
        self.assertEqual({key: (type(row[key]).__name__, row[key]) for key in ("i", "big", "n", "f", "yes", "no")},
                         {"i": ("int", 42), "big": ("int", 9007199254740993), "n": ("float", 3.14),
                          "f": ("float", 2.5), "yes": ("bool", True), "no": ("bool", False)})
        self.assertEqual(row["t"], "hé")
        self.assertEqual(row["d"], "2024-02-29")
        self.assertTrue(row["ts"].startswith("2024-02-29") and "13:45:00" in row["ts"], row["ts"])
        self.assertTrue(row["tm"].startswith("13:45:00"), row["tm"])
        self.assertEqual(row["j"], {"a": [1, 2]})
        self.assertEqual(row["jb"], {"k": True})
        _, _, rows, footer = table.text_lines()
        self.assertEqual(footer, "(1 row)")
        self.assertEqual(len(rows), 1)
        for value in ("42", "9007199254740993", "3.14", "2.5", "hé", "2024-02-29", "13:45:00"):
            self.assertIn(value, rows[0], table.text)
            self.assertIn(value, table.html)
        self.assertEqual([cell.strip() for cell in table.text_lines()[0].split("|")],
                         [name for name, _ in table.fields])

    def test_arrays_are_table_schema_arrays(self):
        k = self.kernel()
        table = k.query("select array[1, 2, 3] as ints, array['x', null] as texts, '{}'::int[] as empty")
        self.assertIn("{1,2,3}", table.text)
        self.assertEqual(table.fields, [("ints", "array"), ("texts", "array"), ("empty", "array")])
        self.assertEqual(table.rows, [{"ints": [1, 2, 3], "texts": ["x", None], "empty": []}])

    def test_null_and_the_empty_string_differ(self):
        k = self.kernel()
        table = k.query("select * from (values (1, null::text), (2, ''), (3, 'NULL')) as t(id, v) order by id")
        self.assertEqual(table.rows, [{"id": 1, "v": None}, {"id": 2, "v": ""}, {"id": 3, "v": "NULL"}])
        rows = table.text_rows()
        self.assertEqual(rows[0][1].strip(), "NULL")
        self.assertEqual(rows[1][1].strip(), "")
        self.assertEqual(table.html.count(NULL_CELL), 1, table.html)
        self.assertIn("<em>NULL</em>", table.html)

    def test_numbers_right_aligned_text_left_aligned(self):
        k = self.kernel()
        table = k.query("select * from (values (1, 'a', 2.5), (1000, 'bbbb', 10.25)) as t(n, s, x) order by n")
        rows = table.text_rows()
        self.assertEqual([cell.strip() for cell in rows[0]], ["1", "a", "2.5"])
        self.assertEqual([cell.strip() for cell in rows[1]], ["1000", "bbbb", "10.25"])
        # numbers end in the same column; text starts in the same column
        self.assertEqual(len(rows[0][0].rstrip()), len(rows[1][0].rstrip()), table.text)
        self.assertEqual(len(rows[0][2].rstrip()), len(rows[1][2].rstrip()), table.text)
        self.assertGreater(len(rows[0][0]) - len(rows[0][0].lstrip()), len(rows[1][0]) - len(rows[1][0].lstrip()))
        self.assertEqual(len(rows[0][1]) - len(rows[0][1].lstrip()), len(rows[1][1]) - len(rows[1][1].lstrip()),
                         table.text)

    def test_wide_characters_are_aligned_by_display_width(self):
        """As psql does: a CJK character takes two columns of a terminal."""
        k = self.kernel()
        table = k.query("select * from (values ('日本', 1), ('ab', 2)) as t(w, n) order by n")
        header, rule, rows, _ = table.text_lines()
        self.assertEqual(rule, "------+---", table.text)
        self.assertEqual(rows, [" 日本 | 1", " ab   | 2"])

    def test_html_escapes_names_and_values(self):
        k = self.kernel()
        table = k.query("""select '<b>&"x' as "<col>", null::text as "a&b\"""")
        self.assertNotIn("<b>", table.html)
        self.assertNotIn("<col>", table.html)
        self.assertIn("&lt;b&gt;&amp;", table.html)
        self.assertIn("&lt;col&gt;", table.html)
        self.assertIn("a&amp;b", table.html)
        self.assertIn(NULL_CELL, table.html)
        self.assertEqual(table.rows, [{"<col>": '<b>&"x', "a&b": None}])
        self.assertEqual(table.fields, [("<col>", "string"), ("a&b", "string")])


# ---- statements ----

class PostgresStatements(SqlTestCase):
    def test_a_cell_of_several_statements(self):
        """Each statement on its own: command tags on stdout, a table per SELECT, in order."""
        k = self.kernel()
        cell = k.ok(textwrap.dedent("""\
            %%sql
            create table several (id int primary key, name text);
            insert into several values (1, 'a'), (2, 'b'), (3, 'c');
            select count(*) as n from several;
            select name from several order by id;
            update several set name = 'z' where id > 1;
            delete from several where id = 1;
            """))
        self.assertEqual(cell.stdout, "CREATE TABLE\nINSERT 0 3\nUPDATE 2\nDELETE 1\n")
        tables = cell.tables()
        self.assertEqual(len(tables), 2, str(cell))
        self.assertEqual(tables[0].rows, [{"n": 3}])
        self.assertEqual(tables[0].fields, [("n", "integer")])
        self.assertEqual(tables[1].rows, [{"name": "a"}, {"name": "b"}, {"name": "c"}])
        # in the order the statements ran
        kinds = []
        for message in cell.messages:
            if message["msg_type"] == "display_data":
                kinds.append("table")
            elif message["msg_type"] == "stream":
                kinds.extend(line for line in message["content"]["text"].splitlines())
        self.assertEqual(kinds, ["CREATE TABLE", "INSERT 0 3", "table", "table", "UPDATE 2", "DELETE 1"])
        self.assertEqual(CLUSTER.psql("select id, name from several order by id"), "2|z\n3|z\n")

    def test_semicolons_inside_quotes_comments_and_dollar_quotes(self):
        k = self.kernel()
        cell = k.ok(textwrap.dedent("""\
            %%sql
            select 'a;b' as s; -- a comment; with a semicolon
            /* a block; comment */ select $$c;d$$ as t;
            select $tag$e;'f$tag$ as u, E'g\\';h' as v
            """))
        self.assertEqual([table.rows for table in cell.tables()],
                         [[{"s": "a;b"}], [{"t": "c;d"}], [{"u": "e;'f", "v": "g';h"}]])

    def test_statement_splitting_follows_postgresql_lexing(self):
        """A backslash ends nothing in a standard string, block comments nest, and a ; or a :name
        inside a quoted identifier is part of it."""
        k = self.kernel()
        cell = k.ok(textwrap.dedent("""\
            %%sql
            select 'a\\' as x; select 1 /* outer /* inner */ still; comment */ as y;
            select 1 as ":tejun_unset_variable", 2 as "a;b"
            """))
        self.assertEqual([table.rows for table in cell.tables()],
                         [[{"x": "a\\"}], [{"y": 1}], [{":tejun_unset_variable": 1, "a;b": 2}]])

    def test_copy_from_stdin_fails_instead_of_waiting(self):
        k = self.kernel()
        cell = k.fail("%%sql\ncreate table copied (x int);\ncopy copied from stdin;\nselect 1 as after")
        self.assertEqual(cell.tables(), [])
        self.assertEqual(k.query("select count(*) as n from copied").rows, [{"n": 0}])

    def test_bad_options_are_magic_errors(self):
        k = self.kernel()
        for line, words in (("--limit abc", ["--limit", "abc"]), ("--timeout soon", ["--timeout", "soon"]),
                            ("--bogus 5", ["--bogus"])):
            cell = k.fail(f"%%sql {line}\nselect 1", "MagicError")
            for word in words:
                self.assertIn(word, cell.reply["evalue"])

    def test_notices_and_warnings_go_to_stderr(self):
        k = self.kernel()
        cell = k.ok("%%sql\ndo $$ begin raise notice 'hi'; raise warning 'careful'; end $$")
        self.assertIn("NOTICE:  hi\n", cell.stderr)
        self.assertIn("WARNING:  careful\n", cell.stderr)
        self.assertEqual(cell.stdout, "DO\n")

    def test_server_error_with_sqlstate_line_column_and_caret(self):
        """Earlier results stay, the failing statement is pointed at, later ones do not run."""
        k = self.kernel()
        cell = k.fail(textwrap.dedent("""\
            %%sql
            select 1 as ok;
            select * from nope;
            create table after_the_error (x int);
            """))
        self.assert_sql_error(cell, "42P01", 'relation "nope" does not exist')
        self.assert_points_at(cell, 2, "select * from nope;", "nope")
        self.assertIn("at line 2, column 15 of the SQL:", cell.reply["evalue"].split("\n"))
        self.assertEqual([table.rows for table in cell.tables()], [[{"ok": 1}]])
        self.assertEqual(CLUSTER.psql("select to_regclass('after_the_error') is null"), "t\n")

    def test_error_inside_a_statement_spanning_lines(self):
        k = self.kernel()
        cell = k.fail(textwrap.dedent("""\
            %%sql
            -- first a comment
            select 1 as a;

            select a,
                   b
              from nope_either
            """))
        self.assert_sql_error(cell, "42P01", 'relation "nope_either" does not exist')
        self.assert_points_at(cell, 6, "  from nope_either", "nope_either")

    def test_detail_and_hint_lines(self):
        k = self.kernel()
        k.ok("%%sql\ncreate table unique_ids (id int primary key, name text);\ninsert into unique_ids values (1, 'a')")
        cell = k.fail("%%sql\ninsert into unique_ids values (1, 'b')")
        lines = self.assert_sql_error(cell, "23505", 'duplicate key value violates unique constraint "unique_ids_pkey"')
        self.assertIn("DETAIL: Key (id)=(1) already exists.", lines)
        cell = k.fail("%%sql\nselect nme from unique_ids")
        lines = self.assert_sql_error(cell, "42703", 'column "nme" does not exist')
        self.assertTrue([line for line in lines if line.startswith("HINT: Perhaps you meant")], str(cell))
        self.assert_points_at(cell, 1, "select nme from unique_ids", "nme")

    def test_a_transaction_the_cell_begins(self):
        k = self.kernel()
        k.ok("%%sql\ncreate table tx (x int)")
        cell = k.ok("%%sql\nbegin;\ninsert into tx values (1);\nrollback;\nselect count(*) as n from tx")
        self.assertEqual(cell.stdout, "BEGIN\nINSERT 0 1\nROLLBACK\n")
        self.assertEqual(cell.table().rows, [{"n": 0}])


# ---- connections ----

class PostgresConnections(SqlTestCase):
    def test_url_on_the_magic_line(self):
        k = self.kernel(database_url=False, check_log=False)
        for scheme in ("postgresql", "postgres", "postgresql+psycopg2"):
            url = CLUSTER.url().replace("postgresql://", f"{scheme}://", 1)
            cell = k.ok(f"%%sql {url}\nselect current_user as u, current_database() as db")
            self.assertEqual(cell.table().rows, [{"u": "tejun", "db": "tejun"}], scheme)
        # the password is a secret of the session from now on, raw and percent-encoded
        cell = k.ok(f"echo '{CLUSTER.password}'; echo '{SECRETS[1]}'")
        self.assertEqual(cell.stdout, "[MASKED]\n[MASKED]\n")

    def test_connect_names_a_connection(self):
        k = self.kernel(database_url=False, check_log=False)
        url = CLUSTER.url(database="tejun_disconnect")
        cell = k.ok(f"%connect reports {url}")
        self.assertTrue(cell.stdout.startswith(
            f"reports: connected to postgresql://tejun@127.0.0.1:{CLUSTER.port}/tejun_disconnect (PostgreSQL 15."),
            cell.stdout)
        self.assertEqual(backends("tejun_disconnect"), 1)
        cell = k.ok("%%sql reports\nselect current_database() as db")
        self.assertEqual(cell.table().rows, [{"db": "tejun_disconnect"}])
        self.assertEqual(k.ok(f"echo '{CLUSTER.password}'").stdout, "[MASKED]\n")
        listing = k.ok("%connect").stdout
        self.assertIn("reports", listing)
        self.assertIn(f"127.0.0.1:{CLUSTER.port}/tejun_disconnect", listing)
        k.ok("%disconnect reports")
        wait_until(lambda: backends("tejun_disconnect") == 0, "%disconnect closes the connection")

    def test_database_url_set_with_env(self):
        k = self.kernel(database_url=False, check_log=False)
        k.ok(f"%env DATABASE_URL={CLUSTER.url()}")
        cell = k.ok("%%sql\nselect current_database() as db")
        self.assertEqual(cell.table().rows, [{"db": "tejun"}])

    def test_database_url_from_the_kernels_environment(self):
        k = self.kernel()
        self.assertEqual(k.query("select current_user as u").rows, [{"u": "tejun"}])
        # the password is now a secret of the session
        self.assertEqual(k.ok('echo "$DATABASE_URL"').stdout,
                         f"postgresql://tejun:[MASKED]@127.0.0.1:{CLUSTER.port}/tejun\n")

    def test_pg_variables_from_the_kernels_environment(self):
        k = self.kernel(database_url=False, **CLUSTER.env())
        self.assertEqual(k.query("select current_user as u, current_database() as db").rows,
                         [{"u": "tejun", "db": "tejun"}])
        self.assertEqual(k.ok('echo "$PGPASSWORD"').stdout, "[MASKED]\n")

    def test_pg_variables_set_with_env(self):
        k = self.kernel(database_url=False, check_log=False)
        for name, value in CLUSTER.env().items():
            k.ok(f"%env {name}={value}")
        self.assertEqual(k.query("select inet_server_port() as port").rows, [{"port": CLUSTER.port}])
        self.assertEqual(k.ok('echo "$PGPASSWORD"').stdout, "[MASKED]\n")

    def test_which_connection_wins(self):
        """URL on the magic line, then DATABASE_URL, then PG* variables."""
        k = self.kernel(database_url=False, check_log=False, **CLUSTER.env())
        k.ok("%env DATABASE_URL=sqlite://")
        self.assertEqual(len(k.query("select sqlite_version() as v").rows), 1)
        cell = k.ok(f"%%sql {CLUSTER.url(database='tejun_other')}\nselect current_database() as db")
        self.assertEqual(cell.table().rows, [{"db": "tejun_other"}])

    def test_placeholders_in_the_url_percent_encode_the_password(self):
        k = self.kernel(database_url=False, check_log=False)
        k.ok(f"%env DB_USER={CLUSTER.user}\n%env DB_PASSWORD={CLUSTER.password}\n"
             f"%env DB_ENDPOINT=127.0.0.1:{CLUSTER.port}\n%env DB_NAME=tejun")
        cell = k.ok("%%sql postgresql://{DB_USER}:{DB_PASSWORD}@{DB_ENDPOINT}/{DB_NAME}\n"
                    "select current_user as u, inet_server_port() as port")
        self.assertEqual(cell.table().rows, [{"u": "tejun", "port": CLUSTER.port}])
        # from now on the password is masked wherever it shows
        self.assertEqual(k.ok('echo "$DB_PASSWORD"').stdout, "[MASKED]\n")

    def test_placeholders_read_variables_exported_in_bash(self):
        k = self.kernel(database_url=False, check_log=False)
        k.ok(f"export DB_ENDPOINT=127.0.0.1:{CLUSTER.port} DB_PASSWORD='{CLUSTER.password}'")
        cell = k.ok("%%sql postgresql://tejun:{DB_PASSWORD}@{DB_ENDPOINT}/tejun\nselect 1 as one")
        self.assertEqual(cell.table().rows, [{"one": 1}])

    def test_placeholder_in_the_path_is_percent_encoded(self):
        k = self.kernel(database_url=False, check_log=False)
        k.ok(f"%env DB_PASSWORD={CLUSTER.password}\n%env DB_NAME=tejun run")
        cell = k.ok(f"%%sql postgresql://tejun:{{DB_PASSWORD}}@127.0.0.1:{CLUSTER.port}/{{DB_NAME}}\n"
                    "select current_database() as db")
        self.assertEqual(cell.table().rows, [{"db": "tejun run"}])

    def test_changing_database_url_changes_the_connection(self):
        k = self.kernel()
        self.assertEqual(k.query("select current_database() as db").rows, [{"db": "tejun"}])
        k.ok(f"%env DATABASE_URL={CLUSTER.url(database='tejun_other')}")
        self.assertEqual(k.query("select current_database() as db").rows, [{"db": "tejun_other"}])

    def test_a_connection_the_server_dropped_is_replaced(self):
        """At most the first cell after the server ended the session fails (ConnectionError); the
        next one works on a new connection."""
        k = self.kernel()
        pid = k.query("select pg_backend_pid() as pid").rows[0]["pid"]
        CLUSTER.psql(f"select pg_terminate_backend({pid}, 5000)")
        cell = k.run("%%sql\nselect pg_backend_pid() as pid")
        if cell.reply["status"] != "ok":
            self.assertEqual(cell.reply["ename"], "ConnectionError", str(cell))
            cell = k.ok("%%sql\nselect pg_backend_pid() as pid")
        self.assertNotEqual(cell.table().rows[0]["pid"], pid)

    def test_interrupt_while_connecting(self):
        """A server that accepts the TCP connection and never answers: interrupt ends the wait."""
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
            silent.bind(("127.0.0.1", 0))
            silent.listen(8)
            port = silent.getsockname()[1]
            k = self.kernel(database_url=False, check_log=False)
            code = f"%%sql postgresql://tejun:pw@127.0.0.1:{port}/tejun\nselect 1"
            msg_id = k.execute(code)
            time.sleep(1)
            k.km.interrupt_kernel()
            cell = k.collect(msg_id, code, timeout=12)  # libpq's own give-up would be later
            self.assertEqual(cell.reply.get("ename"), "KeyboardInterrupt", str(cell))
        self.assertEqual(k.ok("echo alive").stdout, "alive\n")

    def test_one_connection_per_url_reused_across_cells(self):
        k = self.kernel()
        first = k.query("select pg_backend_pid() as pid").rows[0]["pid"]
        k.ok("%%sql\nset application_name = 'tejun-reuse'")
        second = k.query("select pg_backend_pid() as pid, current_setting('application_name') as app").rows[0]
        self.assertEqual(second, {"pid": first, "app": "tejun-reuse"})

    def test_kernel_shutdown_closes_connections(self):
        k = self.kernel(database_url=CLUSTER.url(database="tejun_shutdown"))
        k.query("select 1 as one")
        self.assertEqual(backends("tejun_shutdown"), 1)
        k.shutdown(now=False)
        wait_until(lambda: backends("tejun_shutdown") == 0, "the kernel's connection closes at shutdown")

    def test_wrong_password(self):
        k = self.kernel(database_url=False, check_log=False)
        wrong = "wrong@pass:word"
        url = CLUSTER.url().replace(urllib.parse.quote(CLUSTER.password, safe=""), urllib.parse.quote(wrong, safe=""))
        cell = k.fail(f"%%sql {url}\nselect 1", "ConnectionError")
        cell.assert_no_secrets(SECRETS.plus(wrong, urllib.parse.quote(wrong, safe="")))
        self.assertTrue(cell.reply["evalue"].startswith(
            f"cannot connect to postgresql://tejun@127.0.0.1:{CLUSTER.port}/tejun:"), str(cell))
        self.assertIn("password authentication failed", cell.reply["evalue"])

    def test_refused_connection_names_host_and_port(self):
        k = self.kernel(database_url=False, check_log=False)
        port = free_port()
        cell = k.fail(f"%%sql postgresql://bob:bob-secret-1@127.0.0.1:{port}/db\nselect 1", "ConnectionError")
        cell.assert_no_secrets(SECRETS.plus("bob-secret-1"))
        evalue = cell.reply["evalue"]
        self.assertTrue(evalue.startswith(f"cannot connect to postgresql://bob@127.0.0.1:{port}/db: "), evalue)
        message = evalue.split(": ", 1)[1]
        self.assertIn("127.0.0.1", message)
        self.assertIn(str(port), message)
        self.assertIn("refused", message.lower())


# ---- stopping a query ----

class PostgresCancel(SqlTestCase):
    def test_interrupt_cancels_the_query_on_the_server(self):
        k = self.kernel()
        pid = k.query("select pg_backend_pid() as pid").rows[0]["pid"]
        code = "%%sql\nselect pg_sleep(30)"
        msg_id = k.execute(code)
        wait_until(lambda: active_queries("%pg_sleep(30)%") == 1, "the query runs on the server")
        k.km.interrupt_kernel()
        cell = k.collect(msg_id, code, timeout=20)  # well before the 30 s
        self.assertEqual(cell.reply["status"], "error", str(cell))
        self.assertEqual(cell.reply["ename"], "KeyboardInterrupt", str(cell))
        # cancelled on the server, not merely abandoned
        wait_until(lambda: active_queries("%pg_sleep(30)%") == 0, "the server's query is cancelled", seconds=5)
        self.assertEqual(k.query("select pg_backend_pid() as pid, 1 as one").rows, [{"pid": pid, "one": 1}])

    def test_timeout_option_is_a_statement_timeout(self):
        k = self.kernel()
        cell = k.fail("%%sql --timeout 1\nselect pg_sleep(20)", "SQLError")
        self.assert_sql_error(cell, "57014", "canceling statement due to statement timeout")
        self.assertEqual(active_queries("%pg_sleep(20)%"), 0)
        # only for that cell
        self.assertEqual(k.query("select pg_sleep(1.5)::text as slept").rows, [{"slept": ""}])
        cell = k.fail(f"%%sql {CLUSTER.url()} --timeout 1\nselect pg_sleep(20)", "SQLError")
        self.assert_sql_error(cell, "57014", "canceling statement due to statement timeout")

    def test_session_timeout_applies_to_sql_steps(self):
        k = self.kernel()
        k.ok("%timeout 1")
        k.fail("%%sql\nselect pg_sleep(20)", "TimeoutError")
        wait_until(lambda: active_queries("%pg_sleep(20)%") == 0, "the server's query is cancelled", seconds=5)
        k.ok("%timeout off")
        self.assertEqual(k.query("select 1 as one").rows, [{"one": 1}])

    def test_session_timeout_applies_while_connecting(self):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
            silent.bind(("127.0.0.1", 0))
            silent.listen(8)
            port = silent.getsockname()[1]
            k = self.kernel(database_url=False, check_log=False)
            k.ok("%timeout 1")
            k.fail(f"%%sql postgresql://tejun:pw@127.0.0.1:{port}/tejun\nselect 1", "TimeoutError")


# ---- --limit and --out ----

class PostgresLimits(SqlTestCase):
    def test_limit_shows_the_first_rows_and_states_the_total(self):
        k = self.kernel()
        cell = k.ok("%%sql --limit 1000\nselect g from generate_series(1, 2500) as g")
        footer = self.assert_cut(cell, 1000, 2500)
        self.assertIn("1500", footer)

    def test_default_limit_is_1000(self):
        k = self.kernel()
        self.assert_cut(k.ok("%%sql\nselect g from generate_series(1, 1001) as g"), 1000, 1001)

    def test_small_limit_with_a_url(self):
        k = self.kernel(database_url=False, check_log=False)
        self.assert_cut(k.ok(f"%%sql {CLUSTER.url()} --limit 5\nselect g from generate_series(1, 12) as g"), 5, 12)

    def test_first_screen_shows_while_the_query_still_runs(self):
        """The first --limit rows are displayed as soon as they arrive: here the query blocks on
        an advisory lock this test holds after its third row, and the first screen of two rows
        must be there while it waits; the update with the total comes once the lock is gone.
        (Rows of 10 kB make the server flush the first two before it blocks.)"""
        holder = subprocess.Popen(
            [CLUSTER.psql_program, "-X", "-q", "-h", CLUSTER.host, "-p", str(CLUSTER.port), "-U", CLUSTER.user,
             "-d", CLUSTER.database, "-c", "select pg_advisory_lock(4242), pg_sleep(120)"],
            env=clean_environment(PGPASSWORD=CLUSTER.password), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(holder.wait, 30)
        self.addCleanup(holder.kill)
        wait_until(lambda: CLUSTER.psql("select count(*) from pg_locks where locktype = 'advisory' "
                                        "and objid = 4242 and granted") == "1\n", "the test holds the lock")
        k = self.kernel()
        code = ("%%sql --limit 2\nselect g, repeat('x', 10000) as pad, "
                "case when g = 4 then pg_advisory_lock(4242)::text end as locked from generate_series(1, 5) as g")
        msg_id = k.execute(code)
        deadline = time.monotonic() + TIMEOUT
        first = None
        while first is None:
            message = k.kc.get_iopub_msg(timeout=max(0.01, deadline - time.monotonic()))
            if message["parent_header"].get("msg_id") != msg_id:
                continue
            self.assertNotEqual(message["msg_type"], "update_display_data", "an update before the first display")
            self.assertNotEqual(message["msg_type"], "error", message["content"])
            self.assertFalse(message["msg_type"] == "status" and message["content"]["execution_state"] == "idle",
                             "the cell ended while the lock was held")
            if message["msg_type"] == "display_data":
                first = message["content"]
        self.assertEqual([row["g"] for row in first["data"][DATARESOURCE]["data"]], [1, 2])
        # the query is still there, waiting for the lock
        self.assertEqual(CLUSTER.psql("select count(*) from pg_stat_activity where wait_event_type = 'Lock' "
                                      "and query like '%generate_series(1, 5)%'"), "1\n")
        CLUSTER.psql("select pg_terminate_backend(pid) from pg_stat_activity "
                     "where query like '%pg_advisory_lock(4242), pg_sleep%' and pid <> pg_backend_pid()")
        rest = k.collect(msg_id, code)
        self.assertEqual(rest.reply["status"], "ok", str(rest))
        updates = rest.of_type("update_display_data")
        self.assertTrue(updates, str(rest))
        self.assertEqual(updates[-1]["transient"]["display_id"], first["transient"]["display_id"])
        footer = updates[-1]["data"]["text/plain"].rstrip("\n").split("\n")[-1]
        self.assertIn("5", footer)
        self.assertIn("2", footer)

    def test_nothing_cut(self):
        k = self.kernel()
        cell = k.ok("%%sql --limit 4\nselect g from generate_series(1, 3) as g")
        self.assertEqual(cell.of_type("update_display_data"), [])  # the whole result was there at once
        self.assertEqual(cell.table().text_lines()[3], "(3 rows)")
        # exactly --limit rows: shown before the end is known, then updated
        table = k.ok("%%sql --limit 3\nselect g from generate_series(1, 3) as g").table()
        self.assertEqual(table.text_lines()[3], "(3 rows)")
        self.assertEqual(len(table.rows), 3)


class PostgresOut(SqlTestCase):
    CSV_QUERY = textwrap.dedent("""\
        select * from (values (1, 'plain', 'x'), (2, 'comma, here', null), (3, 'quote "q"', ''),
                              (4, E'line1\\nline2', E'crlf\\r\\nx')) as t(id, "text", "extra, too")
        order by id""")

    def test_out_writes_every_row_as_rfc4180_csv(self):
        k = self.kernel()
        (self.work / "sub").mkdir()
        k.ok("%cd sub")
        cell = k.ok("%%sql --out result.csv\n" + self.CSV_QUERY)
        path = self.work / "sub" / "result.csv"
        self.assertEqual(path.read_bytes(),
                         b'id,text,"extra, too"\r\n1,plain,x\r\n2,"comma, here",\r\n3,"quote ""q""",""\r\n'
                         b'4,"line1\nline2","crlf\r\nx"\r\n')
        with open(path, newline="", encoding="utf-8") as file:
            self.assertEqual(list(csv.reader(file)), [
                ["id", "text", "extra, too"], ["1", "plain", "x"], ["2", "comma, here", ""],
                ["3", 'quote "q"', ""], ["4", "line1\nline2", "crlf\r\nx"]])
        self.assertIn("wrote 4 rows to", cell.stdout)
        self.assertIn("result.csv", cell.stdout)
        self.assertEqual(cell.tables(), [])
        self.assertEqual(sorted(p.name for p in (self.work / "sub").iterdir()), ["result.csv"])

    def test_out_ignores_the_limit(self):
        k = self.kernel()
        cell = k.ok("%%sql --limit 10 --out all.csv\nselect g, 'v' || g as v from generate_series(1, 2500) as g")
        with open(self.work / "all.csv", newline="", encoding="utf-8") as file:
            rows = list(csv.reader(file))
        self.assertEqual(rows[0], ["g", "v"])
        self.assertEqual(rows[1:], [[str(g), f"v{g}"] for g in range(1, 2501)])
        self.assertIn("wrote 2500 rows to", cell.stdout)

    def test_out_with_other_statements(self):
        k = self.kernel()
        cell = k.ok("%%sql --out one.csv\ncreate table out_source as select 1 as x;\nselect x from out_source")
        self.assertIn("SELECT 1", cell.stdout)
        self.assertEqual((self.work / "one.csv").read_bytes(), b"x\r\n1\r\n")

    def test_out_leaves_no_file_when_interrupted(self):
        k = self.kernel()
        code = "%%sql --out slow.csv\nselect g, pg_sleep(0.2) from generate_series(1, 100) as g"
        msg_id = k.execute(code)
        wait_until(lambda: active_queries("%generate_series(1, 100)%") == 1, "the query runs on the server")
        time.sleep(0.5)
        k.km.interrupt_kernel()
        cell = k.collect(msg_id, code, timeout=20)
        self.assertEqual(cell.reply.get("ename"), "KeyboardInterrupt", str(cell))
        self.assertEqual(sorted(p.name for p in self.work.iterdir()), [])

    def test_out_error_names_the_file(self):
        k = self.kernel()
        cell = k.fail("%%sql --out missing/x.csv\nselect 1")
        self.assertIn("missing/x.csv", cell.reply["evalue"])
        self.assertFalse((self.work / "missing").exists())

    def test_out_leaves_no_file_when_the_query_fails(self):
        k = self.kernel()
        (self.work / "kept.csv").write_bytes(b"old\r\n")
        before = sorted(p.name for p in self.work.iterdir())
        failing = "select 10 / (3 - g) as x from generate_series(1, 5) as g"
        cell = k.fail(f"%%sql --out broken.csv\n{failing}", "SQLError")
        self.assert_sql_error(cell, "22012", "division by zero")
        k.fail(f"%%sql --out kept.csv\n{failing}", "SQLError")
        self.assertEqual(sorted(p.name for p in self.work.iterdir()), before)
        self.assertEqual((self.work / "kept.csv").read_bytes(), b"old\r\n")


# ---- :name parameters ----

class PostgresParameters(SqlTestCase):
    INJECTION = "x'; drop table param_victims; --"

    def test_values_are_bound_not_spliced(self):
        CLUSTER.psql("create table param_victims (name text);\n"
                     f"insert into param_victims values ('alice'), ($${self.INJECTION}$$)")
        k = self.kernel()
        k.ok(f"%env who={self.INJECTION}")
        table = k.query("select name from param_victims where name = :who")
        self.assertEqual(table.rows, [{"name": self.INJECTION}])
        self.assertEqual(CLUSTER.psql("select count(*) from param_victims"), "2\n")

    def test_casts_quotes_comments_and_dollar_quotes_are_left_alone(self):
        k = self.kernel()
        k.ok("%env who=me\n%env n=41")
        table = k.query(textwrap.dedent("""\
            select :who as v, :n::int + 1 as m, '5'::int as five, ':who' as quoted, $$:who$$ as dollar,
                   (array[1, 2, 3])[2:3] = array[2, 3] as slice -- :not_a_parameter
                   /* :nor_this */"""))
        self.assertEqual(table.rows, [{"v": "me", "m": 42, "five": 5, "quoted": ":who", "dollar": ":who",
                                       "slice": True}])

    def test_an_unset_variable_is_an_error_naming_it_and_its_line(self):
        k = self.kernel()
        cell = k.fail("%%sql\nselect 1 as one;\nselect :tejun_unset_variable as v")
        self.assertIn("tejun_unset_variable", cell.reply["evalue"])
        self.assertIn("line 2", cell.reply["evalue"])

    def test_error_position_counts_the_name_not_the_placeholder(self):
        k = self.kernel()
        k.ok("%env who=me")
        cell = k.fail("%%sql\nselect :who as w, x from nope_param")
        self.assert_sql_error(cell, "42P01", 'relation "nope_param" does not exist')
        self.assert_points_at(cell, 1, "select :who as w, x from nope_param", "nope_param")


# ---- SQLite ----

class Sqlite(SqlTestCase):
    def test_embedded_default_without_any_database_variable(self):
        k = self.kernel(database_url=False)
        self.assertEqual(k.ok("env | grep -c -E '^(PG|DATABASE_URL)' || true").stdout, "0\n")
        cell = k.ok("%%sql\ncreate table kept (x int);\ninsert into kept values (1), (2)")
        self.assertIn("CREATE TABLE", cell.stdout)
        self.assertRegex(cell.stdout, r"INSERT (0 )?2\n")
        # the same database in the next cell
        table = k.query("select count(*) as n, sqlite_version() as v from kept")
        self.assertEqual(table.rows[0]["n"], 2)
        self.assertTrue(table.rows[0]["v"].startswith("3."), table.rows)
        self.assertEqual(sorted(p.name for p in self.work.iterdir()), [])

    def test_in_memory_url(self):
        k = self.kernel(database_url=False)
        cell = k.ok("%%sql sqlite://\nselect 1 as one, 'x' as s")
        self.assertEqual(cell.table().rows, [{"one": 1, "s": "x"}])

    def test_file_relative_to_the_sessions_directory(self):
        k = self.kernel(database_url=False)
        k.ok("mkdir elsewhere && cd elsewhere")
        k.ok("%%sql sqlite:///relative.db\ncreate table t (x int);\ninsert into t values (1), (2)")
        path = self.work / "elsewhere" / "relative.db"
        self.assertTrue(path.is_file(), sorted(str(p) for p in self.work.rglob("*")))
        with sqlite3.connect(path) as db:
            self.assertEqual(db.execute("select x from t order by x").fetchall(), [(1,), (2,)])

    def test_absolute_file(self):
        path = self.root / "absolute.db"
        with sqlite3.connect(path) as db:
            db.execute("create table t (name text)")
            db.execute("insert into t values ('from python')")
        k = self.kernel(database_url=False)
        cell = k.ok(f"%%sql sqlite:///{path}\nselect name from t")
        self.assertEqual(cell.table().rows, [{"name": "from python"}])

    def test_types_null_and_empty_string(self):
        k = self.kernel(database_url=False)
        k.ok("%%sql\ncreate table ty (i integer, r real, t text);\n"
             "insert into ty values (1, 2.5, 'x'), (1000, null, ''), (null, -0.25, null)")
        table = k.query("select i, r, t from ty order by rowid")
        self.assertEqual(table.fields, [("i", "integer"), ("r", "number"), ("t", "string")])
        self.assertEqual(table.rows, [{"i": 1, "r": 2.5, "t": "x"}, {"i": 1000, "r": None, "t": ""},
                                      {"i": None, "r": -0.25, "t": None}])
        rows = table.text_rows()
        self.assertEqual([[cell.strip() for cell in row] for row in rows],
                         [["1", "2.5", "x"], ["1000", "NULL", ""], ["NULL", "-0.25", "NULL"]])
        self.assertEqual(len(rows[0][0].rstrip()), len(rows[1][0].rstrip()), table.text)
        self.assertEqual(table.text_lines()[3], "(3 rows)")
        self.assertEqual(table.html.count(NULL_CELL), 3, table.html)

    def test_two_column_table_reads_like_psql(self):
        k = self.kernel(database_url=False)
        table = k.query("select 1 as id, 'alice' as name union all select 2, null")
        self.assertEqual(table.text.rstrip("\n"), " id | name\n----+-------\n  1 | alice\n  2 | NULL\n(2 rows)")

    def test_parameters(self):
        k = self.kernel(database_url=False)
        injection = "x'; drop table victims; --"
        k.ok(f"%env who={injection}")
        k.ok("%%sql\ncreate table victims (name text);\ninsert into victims values ('alice'), (:who)")
        table = k.query("select name, ':who' as lit, cast(:who as text) as again from victims where name = :who")
        self.assertEqual(table.rows, [{"name": injection, "lit": ":who", "again": injection}])
        table = k.query("select count(*) as n from victims -- :not_a_parameter")
        self.assertEqual(table.rows, [{"n": 2}])
        cell = k.fail("%%sql\nselect :tejun_unset_variable")
        self.assertIn("tejun_unset_variable", cell.reply["evalue"])
        self.assertIn("line 1", cell.reply["evalue"])

    def test_errors(self):
        k = self.kernel(database_url=False)
        cell = k.fail("%%sql\nselect 1 as ok;\nselect * from nope;\ncreate table after_the_error (x int)", "SQLError")
        # SQLite gives no position for this one (sqlite3_error_offset), so no line or caret is asked for
        self.assertIn("no such table: nope", cell.reply["evalue"])
        self.assertEqual([table.rows for table in cell.tables()], [[{"ok": 1}]])
        self.assertEqual(k.query("select count(*) as n from sqlite_master where name = 'after_the_error'").rows,
                         [{"n": 0}])

    def test_error_position(self):
        k = self.kernel(database_url=False)
        cell = k.fail("%%sql\nselect 1 as a,\n  x from (select 1 as y)", "SQLError")
        self.assertIn("no such column: x", cell.reply["evalue"])
        self.assert_points_at(cell, 2, "  x from (select 1 as y)", "x")

    def test_limit_and_out(self):
        k = self.kernel(database_url=False)
        series = "with recursive s(g) as (select 1 union all select g + 1 from s where g < 2500) select g from s"
        cell = k.ok(f"%%sql --limit 1000\n{series}")
        self.assert_cut(cell, 1000, 2500)
        cell = k.ok(f"%%sql --out all.csv\n{series}")
        self.assertIn("wrote 2500 rows to", cell.stdout)
        self.assertEqual((self.work / "all.csv").read_bytes(),
                         b"g\r\n" + b"".join(b"%d\r\n" % g for g in range(1, 2501)))
        cell = k.ok("%%sql --out nulls.csv\nselect null as a, '' as b, 'x,\"y\"' as c")
        self.assertEqual((self.work / "nulls.csv").read_bytes(), b'a,b,c\r\n,"","x,""y"""\r\n')

    ENDLESS = "with recursive c(x) as (select 1 union all select x + 1 from c) select max(x) from c"

    def test_timeout_option(self):
        k = self.kernel(database_url=False)
        k.ok("%%sql\ncreate table survives (x int)")
        cell = k.fail(f"%%sql --timeout 1\n{self.ENDLESS}")
        self.assertIn("timeout", (cell.reply["ename"] + cell.reply["evalue"]).lower(), str(cell))
        self.assertEqual(k.query("select count(*) as n from survives").rows, [{"n": 0}])

    def test_interrupt(self):
        k = self.kernel(database_url=False)
        k.ok("%%sql\ncreate table survives (x int)")
        code = f"%%sql\n{self.ENDLESS}"
        msg_id = k.execute(code)
        time.sleep(0.5)
        k.km.interrupt_kernel()
        cell = k.collect(msg_id, code, timeout=20)
        self.assertEqual(cell.reply.get("ename"), "KeyboardInterrupt", str(cell))
        self.assertEqual(k.query("select count(*) as n from survives").rows, [{"n": 0}])


# ---- ```sql steps in a runbook, through `tejun run` ----

RUNBOOK = """\
---
kernel: tejun
---

# Check the database

```sql {name=setup}
create table run_people (id int, name text);
insert into run_people values (1, 'alice'), (2, null);
```

```sql {name=people}
select * from run_people order by id
```
"""


class EdgeCases(SqlTestCase):
    """Inputs that once broke SQL steps (passwords in odd places, odd bytes, transactions
    around --timeout, trigger bodies, COPY), each kept as a test."""

    def test_a_password_with_a_slash_in_a_literal_url_is_never_shown(self):
        secret = "Xk3/9aZsecret"
        k = self.kernel(database_url=f"postgresql://app:{secret}@127.0.0.1:{CLUSTER.port}/tejun")
        cell = k.fail("%%sql\nselect 1", "ConnectionError")
        cell.assert_no_secrets(SECRETS.plus(secret, "9aZsecret", "Xk3"))
        self.assertIn("percent-encoded", cell.reply["evalue"])

    def test_a_libpq_connection_string_in_database_url_works_and_is_not_shown(self):
        conninfo = (f"host=127.0.0.1 port={CLUSTER.port} user={CLUSTER.user} dbname={CLUSTER.database} "
                    f"password='{CLUSTER.password}'")
        k = self.kernel(database_url=conninfo)
        self.assertEqual(k.query("select 41 + 1 as answer").rows, [{"answer": 42}])
        cell = k.fail("%%sql\nselect * from no_such_table_here", "SQLError")
        self.assertNotIn("host=", cell.reply["evalue"])

    def test_a_url_without_its_slashes_is_an_error_not_a_dead_kernel(self):
        k = self.kernel(database_url="postgres:oops")
        cell = k.fail("%%sql\nselect 1", "ConnectionError")
        self.assertIn("not a URL", cell.reply["evalue"])
        self.assertNotIn("oops", cell.reply["evalue"])
        self.assertEqual(k.ok("echo alive").stdout, "alive\n")

    def test_invalid_utf8_from_the_database_is_repaired(self):
        k = self.kernel(database_url=False)
        table = k.query("select cast(x'ff41' as text) as v")
        self.assertEqual(table.rows, [{"v": "\ufffdA"}])

    def test_statement_timeout_comes_back_after_a_transaction_rolls_back(self):
        k = self.kernel()
        k.ok("%%sql --timeout 5\nbegin;\nselect 1 as inside")
        k.ok("%%sql\nrollback")
        self.assertEqual(k.query("show statement_timeout").rows, [{"statement_timeout": "0"}])

    def test_a_pending_restore_is_not_lost_to_the_next_timeout(self):
        k = self.kernel()
        k.fail("%%sql --timeout 5\nbegin;\nselect 1/0", "SQLError")
        k.ok("%%sql\nrollback")
        k.ok("%%sql --timeout 10\nselect 1 as one")
        self.assertEqual(k.query("show statement_timeout").rows, [{"statement_timeout": "0"}])

    def test_a_sqlite_path_from_a_variable_is_not_percent_encoded(self):
        k = self.kernel(database_url=False)
        (self.work / "sub").mkdir()
        k.ok("%env DB_FILE=sub/app.db")
        k.ok("%%sql sqlite:///{DB_FILE}\ncreate table t (x int)")
        self.assertTrue((self.work / "sub" / "app.db").exists())
        self.assertEqual([p.name for p in self.work.iterdir() if "%" in p.name], [])

    def test_a_sqlite_trigger_body_is_one_statement(self):
        k = self.kernel(database_url=False)
        cell = k.ok(textwrap.dedent("""\
            %%sql
            create table a (id integer);
            create table log (id integer);
            create trigger trg after insert on a begin insert into log values (new.id); end;
            insert into a values (7);
            select id from log
            """))
        self.assertEqual(cell.table().rows, [{"id": 7}])

    def test_copy_to_stdout_comes_in_chunks(self):
        k = self.kernel()
        cell = k.ok("%%sql\ncopy (select g from generate_series(1, 20000) g) to stdout")
        self.assertEqual(cell.stdout.split("\n")[:3], ["1", "2", "3"])
        self.assertEqual(len(cell.stdout.splitlines()), 20000 + 1)  # the rows and the tag
        self.assertLess(len([m for m in cell.messages if m["msg_type"] == "stream"]), 20)

    def test_secrets_are_masked_in_out_files_too(self):
        k = self.kernel(check_log=False)
        k.ok(f"%env PW={CLUSTER.password}")
        k.ok("%%sql --out masked.csv\n"
             "select g, :PW as pw, 'a,' || :PW || '\"' as quoted from generate_series(1, 5000) g")
        text = (self.work / "masked.csv").read_text(encoding="utf-8")
        SECRETS.assert_absent(text, "masked.csv")
        rows = list(csv.reader(text.splitlines()))
        self.assertEqual(len(rows), 5001)  # more than one 64 KiB block
        self.assertEqual(rows[4999], ["4999", "[MASKED]", 'a,[MASKED]"'])

    def test_an_array_slice_is_not_a_parameter(self):
        k = self.kernel(hi="3")
        table = k.query("select (array[10,20,30,40])[lo:hi] as s from (select 2 as lo, 3 as hi) b")
        self.assertEqual(table.rows, [{"s": [20, 30]}])


class Runbooks(SqlTestCase):
    def tejun_run(self, *args, **environment):
        """`tejun run ARGS` in self.work with ENVIRONMENT added to a clean one."""
        return tejun_run(self.work, *args, environment=clean_environment(**environment))

    def read_notebook(self, name, result):
        """The notebook a run saved, validated, once it is checked for the password (with the run's output)."""
        return read_saved(self.work / name, result, SECRETS)

    @staticmethod
    def text_of(cell, output_type="stream"):
        return "".join(o["text"] if output_type == "stream" else o["data"]["text/plain"]
                       for o in cell.outputs if o["output_type"] == output_type)

    def test_sql_fences_run_against_database_url(self):
        (self.work / "book.md").write_text(RUNBOOK, encoding="utf-8")
        result = self.tejun_run("book.md", "-o", "out.ipynb", DATABASE_URL=CLUSTER.url(database="tejun run"))
        self.assertEqual(result.returncode, 0, result)
        notebook = self.read_notebook("out.ipynb", result)
        self.assertEqual(self.text_of(step_named(notebook, "setup")), "CREATE TABLE\nINSERT 0 2\n")
        outputs = step_named(notebook, "people").outputs
        self.assertEqual([o["output_type"] for o in outputs], ["display_data"], outputs)
        data = outputs[0]["data"]
        self.assertEqual(data["text/plain"].rstrip("\n"),
                         " id | name\n----+-------\n  1 | alice\n  2 | NULL\n(2 rows)")
        self.assertIn(NULL_CELL, data["text/html"])
        self.assertEqual(dataresource(outputs[0])["data"], [{"id": 1, "name": "alice"}, {"id": 2, "name": None}])
        self.assertEqual(CLUSTER.psql("select count(*) from run_people", database="tejun run"), "2\n")

    def test_a_failing_sql_step_fails_the_run(self):
        (self.work / "bad.md").write_text(
            "---\nkernel: tejun\n---\n\n```sql {name=bad}\nselect 1;\nselect * from run_nope\n```\n", encoding="utf-8")
        result = self.tejun_run("bad.md", "-o", "bad.ipynb", DATABASE_URL=CLUSTER.url())
        self.assertEqual(result.returncode, 1, result)
        self.assertIn("42P01", result.stderr)
        notebook = self.read_notebook("bad.ipynb", result)
        errors = [o for o in step_named(notebook, "bad").outputs if o["output_type"] == "error"]
        self.assertEqual(len(errors), 1)
        self.assertEqual(errors[0]["ename"], "SQLError")
        self.assertTrue(errors[0]["evalue"].startswith('ERROR 42P01: relation "run_nope" does not exist'),
                        errors[0]["evalue"])
        # Lines count in the fence's SQL, not in the %%sql line tejun run puts in front of it.
        self.assertIn("at line 2, column 15 of the SQL:", errors[0]["evalue"].split("\n"))


    def test_fence_attributes_are_sql_options(self):
        """The attributes connection, limit, out and timeout of a sql fence are its %%sql options."""
        (self.work / "attributes.md").write_text(textwrap.dedent(f"""\
            ---
            kernel: tejun
            ---

            ```sh {{name=connect}}
            %connect other postgresql://tejun:{{DB_PASSWORD}}@127.0.0.1:{CLUSTER.port}/tejun_other
            ```

            ```sql {{name=where connection=other}}
            select current_database() as db
            ```

            ```sql {{name=series limit=3}}
            select g from generate_series(1, 10) as g
            ```

            ```sql {{name=rows out=rows.csv}}
            select g from generate_series(1, 4) as g
            ```

            ```sql {{name=slow timeout=1}}
            select pg_sleep(20)
            ```
            """), encoding="utf-8")
        result = self.tejun_run("attributes.md", "-o", "out.ipynb", DATABASE_URL=CLUSTER.url(),
                                DB_PASSWORD=CLUSTER.password)
        self.assertEqual(result.returncode, 1, result)
        notebook = self.read_notebook("out.ipynb", result)
        self.assertIn("other: connected to", self.text_of(step_named(notebook, "connect")))
        self.assertIn(" tejun_other\n", self.text_of(step_named(notebook, "where"), "display_data"))
        series = self.text_of(step_named(notebook, "series"), "display_data").rstrip("\n").split("\n")
        self.assertEqual([line.strip() for line in series[2:5]], ["1", "2", "3"])
        self.assertIn("10", series[5])
        self.assertEqual((self.work / "rows.csv").read_bytes(), b"g\r\n1\r\n2\r\n3\r\n4\r\n")
        errors = [o for o in step_named(notebook, "slow").outputs if o["output_type"] == "error"]
        self.assertEqual([(e["ename"], e["evalue"].split(":")[0]) for e in errors], [("SQLError", "ERROR 57014")])

    def test_the_database_health_example(self):
        """examples/database-health.md with its four variables as CI would give them."""
        example = (HERE.parent.parent / "examples" / "database-health.md").read_text(encoding="utf-8")
        (self.work / "health.md").write_text(example, encoding="utf-8")
        variables = {"DB_USER": CLUSTER.user, "DB_PASSWORD": CLUSTER.password,
                     "DB_ENDPOINT": f"127.0.0.1:{CLUSTER.port}", "DB_NAME": CLUSTER.database}
        result = self.tejun_run("health.md", "-o", "health.ipynb", **variables)
        self.assertEqual(result.returncode, 0, result)
        notebook = self.read_notebook("health.ipynb", result)
        self.assertTrue(self.text_of(step_named(notebook, "connect")).startswith(
            f"db: connected to postgresql://tejun@127.0.0.1:{CLUSTER.port}/tejun (PostgreSQL 15."))
        with open(self.work / "table-sizes.csv", newline="", encoding="utf-8") as file:
            self.assertEqual(next(csv.reader(file)), ["schemaname", "relname", "bytes", "live_rows"])
        # over the limit: the run fails at that step
        result = self.tejun_run("health.md", "-o", "over.ipynb", "-p", "max_connections_percent", "0", **variables)
        self.assertEqual(result.returncode, 1, result)
        notebook = self.read_notebook("over.ipynb", result)
        errors = [o for o in step_named(notebook, "connections").outputs if o["output_type"] == "error"]
        self.assertEqual(len(errors), 1, notebook)
        self.assertIn("more than 0 percent of max_connections in use", errors[0]["evalue"])


if __name__ == "__main__":
    unittest.main()
