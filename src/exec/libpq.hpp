// libpq, opened at the first PostgreSQL step rather than linked (base/shared_library.hpp): the
// functions sql_postgres.cpp calls, typed by libpq-fe.h.
#pragma once

#include <libpq-fe.h>

#include "base/shared_library.hpp"

namespace tejun::exec {

// clang-format off
// NOLINTNEXTLINE(*-macro-usage)
#define TEJUN_LIBPQ(X) \
  X(PQcancel) X(PQclear) X(PQcmdStatus) X(PQconnectPoll) X(PQconnectStartParams) \
  X(PQconninfoFree) X(PQconninfoParse) X(PQconsumeInput) X(PQdb) X(PQerrorMessage) \
  X(PQfinish) X(PQfname) X(PQfreeCancel) X(PQfreemem) X(PQftype) X(PQgetCancel) \
  X(PQgetCopyData) X(PQgetResult) X(PQgetisnull) X(PQgetlength) X(PQgetvalue) X(PQhost) \
  X(PQisBusy) X(PQnfields) X(PQparameterStatus) X(PQport) X(PQputCopyEnd) \
  X(PQresultErrorField) X(PQresultErrorMessage) X(PQresultStatus) X(PQsendQuery) \
  X(PQsendQueryParams) X(PQsetNoticeReceiver) X(PQsetSingleRowMode) X(PQsocket) X(PQstatus) \
  X(PQtransactionStatus) X(PQuser)
// clang-format on
struct LibPq {
  TEJUN_LIBPQ(TEJUN_SHARED_FUNCTION)
};

// Opens libpq, once; the error says it is missing.
[[nodiscard]] const base::Result<LibPq>& load_libpq();
// The table, once load_libpq has succeeded (connect_postgres checks; everything else runs on a
// connection).
[[nodiscard]] const LibPq& pq();

}  // namespace tejun::exec
