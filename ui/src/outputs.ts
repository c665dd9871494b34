// A step's outputs, live: streams (stdout and stderr apart; a long one shows its head and tail,
// and "show all" opens a virtualised view, so that 20 MB never hang the page), rich data (SQL
// tables that sort, sanitised HTML and SVG, images, Markdown, text) and errors.
import type { Output } from "./api";
import type { Message } from "./kernel";
import { button, element, renderMarkdown, sanitizeHtml, sanitizeSvg, stripAnsi } from "./render";

const SMALL = 64 * 1024; // a stream up to this size is shown whole
const EDGE = 16 * 1024; // else this much of its head and of its tail

function joined(text: string | string[] | undefined): string {
  return Array.isArray(text) ? text.join("") : (text ?? "");
}

function formatSize(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${(bytes / 1024).toFixed(1)} KB`;
}

class StreamBlock {
  readonly node: HTMLElement;
  private readonly chunks: string[] = [];
  private length = 0;
  private readonly head = element("pre", { class: "stream-text" });
  private tail?: HTMLPreElement;
  private gapLabel?: HTMLElement;
  // Set once "Show all" is open: redraws it with the lines that came since.
  private refreshAll?: () => void;
  private scheduled = false;

  constructor(readonly name: string) {
    this.node = element("div", { class: `stream ${name}`, "data-testid": "stream", "data-name": name }, this.head);
  }

  append(raw: string): void {
    const text = stripAnsi(raw);
    this.chunks.push(text);
    this.length += text.length;
    if (!this.tail && !this.refreshAll && this.length <= SMALL) {
      this.head.append(text);
      return;
    }
    // A flood redraws a few times a second, not at every message or frame.
    if (!this.scheduled) {
      this.scheduled = true;
      window.setTimeout(() => requestAnimationFrame(() => {
        this.scheduled = false;
        if (this.refreshAll) {
          this.refreshAll();
        } else {
          this.renderEdges();
        }
      }), this.tail || this.refreshAll ? 200 : 0);
    }
  }

  text(): string {
    if (this.chunks.length > 1) {
      const whole = this.chunks.join("");
      this.chunks.length = 0;
      this.chunks.push(whole);
    }
    return this.chunks[0] ?? "";
  }

  private lastChars(count: number): string {
    let out = "";
    for (let i = this.chunks.length - 1; i >= 0 && out.length < count; --i) {
      out = this.chunks[i] + out;
    }
    out = out.slice(-count);
    const newline = out.indexOf("\n");
    return newline >= 0 && newline < out.length - 1 ? out.slice(newline + 1) : out;
  }

  private renderEdges(): void {
    if (!this.tail || !this.gapLabel) {
      let head = this.text().slice(0, EDGE);
      const newline = head.lastIndexOf("\n");
      head = newline > 0 ? head.slice(0, newline + 1) : head;
      this.head.textContent = head;
      this.tail = element("pre", { class: "stream-text" });
      this.gapLabel = element("span");
      const gap = element("div", { class: "stream-gap" }, this.gapLabel, button("Show all", { "data-testid": "show-all" }, () => this.showAll()));
      this.node.append(gap, this.tail);
    }
    const shown = (this.head.textContent?.length ?? 0) + EDGE;
    this.gapLabel.textContent = `… ${formatSize(Math.max(0, this.length - shown))} not shown (${formatSize(this.length)} in all) `;
    this.tail.textContent = this.lastChars(EDGE);
  }

  // Every line, in a scrolling box that draws only the lines in view; lines that come later are
  // added to it.
  private showAll(): void {
    const lineHeight = 18;
    const box = element("div", { class: "stream-all", "data-testid": "stream-all", tabindex: "0" });
    const spacer = element("div", { class: "stream-all-spacer" });
    const view = element("pre", { class: "stream-text stream-all-view" });
    spacer.append(view);
    box.append(spacer);
    let lines: string[] = [];
    const draw = () => {
      const first = Math.max(0, Math.floor(box.scrollTop / lineHeight) - 20);
      const count = Math.ceil(box.clientHeight / lineHeight) + 40;
      view.style.top = `${first * lineHeight}px`;
      view.textContent = lines.slice(first, first + count).join("\n");
    };
    this.refreshAll = () => {
      lines = this.text().split("\n");
      spacer.style.height = `${lines.length * lineHeight}px`;
      box.setAttribute("aria-label", `${this.name}, ${lines.length} lines`);
      draw();
    };
    box.addEventListener("scroll", () => requestAnimationFrame(draw), { passive: true });
    this.node.replaceChildren(box);
    this.tail = undefined;
    this.gapLabel = undefined;
    this.refreshAll();
  }
}

function sortableTable(resource: { data?: Record<string, unknown>[]; schema?: { fields?: { name: string }[] } }, note: string) {
  const fields = resource.schema?.fields?.map((field) => field.name) ?? Object.keys(resource.data?.[0] ?? {});
  const rows = resource.data ?? [];
  const table = element("table", { "data-testid": "sql-table", class: "sql-table" });
  const body = element("tbody");
  let order: { column: string; ascending: boolean } | undefined;
  const cell = (value: unknown) =>
    element("td", value === null ? { class: "null" } : {}, value === null ? "NULL" : typeof value === "object" ? JSON.stringify(value) : String(value));
  const fill = () => {
    const sorted = [...rows];
    if (order) {
      const { column, ascending } = order;
      sorted.sort((a, b) => {
        const x = a[column];
        const y = b[column];
        const result =
          x === y ? 0 : x === null ? 1 : y === null ? -1 : typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
        return ascending ? result : -result;
      });
    }
    body.replaceChildren(...sorted.map((row) => element("tr", {}, ...fields.map((field) => cell(row[field])))));
  };
  const head = element(
    "tr",
    {},
    ...fields.map((field) => {
      const th = element("th", { scope: "col", "aria-sort": "none" });
      th.append(
        button(field, { class: "sort", title: `Sort by ${field}` }, () => {
          order = { column: field, ascending: order?.column === field ? !order.ascending : true };
          for (const other of head.children) {
            other.setAttribute("aria-sort", "none");
          }
          th.setAttribute("aria-sort", order.ascending ? "ascending" : "descending");
          fill();
        }),
      );
      return th;
    }),
  );
  table.append(element("thead", {}, head), body);
  fill();
  const count = element("div", { class: "row-count", "data-testid": "row-count" }, note || `(${rows.length} row${rows.length === 1 ? "" : "s"})`);
  return element("div", { class: "table-output" }, element("div", { class: "table-scroll" }, table), count);
}

export function renderData(data: Record<string, unknown>): HTMLElement {
  const text = joined(data["text/plain"] as string | string[] | undefined);
  const resource = data["application/vnd.dataresource+json"];
  if (resource && typeof resource === "object") {
    // The kernel's plain-text table ends with its row count: "(3 rows)", "(1000 of 5000 rows shown)".
    const last = text.trimEnd().split("\n").pop() ?? "";
    return sortableTable(resource as never, /^\(.*\)$/.test(last) ? last : "");
  }
  if (data["text/html"] !== undefined) {
    const node = element("div", { class: "html-output", "data-testid": "html-output" });
    node.append(sanitizeHtml(joined(data["text/html"] as string)));
    return node;
  }
  if (data["image/svg+xml"] !== undefined) {
    const node = element("div", { class: "svg-output", "data-testid": "svg-output" });
    node.append(sanitizeSvg(joined(data["image/svg+xml"] as string)));
    return node;
  }
  for (const type of ["image/png", "image/jpeg", "image/gif"]) {
    if (typeof data[type] === "string") {
      return element("img", { class: "image-output", src: `data:${type};base64,${(data[type] as string).trim()}`, alt: text || "image output" });
    }
  }
  if (data["text/markdown"] !== undefined) {
    const node = element("div", { class: "prose markdown-output", "data-testid": "html-output" });
    node.append(renderMarkdown(joined(data["text/markdown"] as string)));
    return node;
  }
  if (data["application/json"] !== undefined && !text) {
    return element("pre", { class: "text-output", "data-testid": "text-output" }, JSON.stringify(data["application/json"], null, 2));
  }
  return element("pre", { class: "text-output", "data-testid": "text-output" }, stripAnsi(text));
}

export class OutputArea {
  readonly node = element("div", { class: "outputs", "data-testid": "outputs", "aria-live": "polite" });
  private outputs: Output[] = [];
  private lastStream?: { block: StreamBlock; output: Output };
  private clearPending = false;

  clear(): void {
    this.outputs = [];
    this.lastStream = undefined;
    this.node.replaceChildren();
  }

  // A message of the kernel's iopub for this step.
  add(message: Message): void {
    const content = message.content;
    const type = message.header.msg_type;
    if (type === "clear_output") {
      if (content.wait) {
        this.clearPending = true;
      } else {
        this.clear();
      }
      return;
    }
    if (type !== "stream" && type !== "display_data" && type !== "execute_result" && type !== "error") {
      return;
    }
    if (this.clearPending) {
      this.clearPending = false;
      this.clear();
    }
    const output = { output_type: type, ...content } as Output;
    this.show(output);
  }

  load(outputs: Output[]): void {
    this.clear();
    for (const output of outputs) {
      this.show({ ...output });
    }
  }

  hasError(): boolean {
    return this.outputs.some((output) => output.output_type === "error");
  }

  // The outputs in nbformat's shape, streams joined, for saving.
  saved(): Output[] {
    return this.outputs.map((output) =>
      output.output_type === "stream" && this.lastStream?.output === output
        ? { ...output, text: this.lastStream.block.text() }
        : output,
    );
  }

  private show(output: Output): void {
    if (output.output_type === "stream") {
      const name = output.name ?? "stdout";
      if (!this.lastStream || this.lastStream.block.name !== name) {
        const block = new StreamBlock(name);
        const kept: Output = { output_type: "stream", name: output.name, text: "" };
        this.outputs.push(kept);
        this.lastStream = { block, output: kept };
        this.node.append(block.node);
      }
      this.lastStream.block.append(joined(output.text));
      return;
    }
    // A finished stream keeps its text in the saved form.
    if (this.lastStream) {
      this.lastStream.output.text = this.lastStream.block.text();
      this.lastStream = undefined;
    }
    this.outputs.push(output);
    if (output.output_type === "error") {
      const traceback = stripAnsi((output.traceback ?? []).join("\n"));
      const title = `${output.ename ?? "Error"}: ${output.evalue ?? ""}`;
      const node = element("div", { class: "error-output", "data-testid": "error", role: "alert" }, element("strong", {}, title));
      if (traceback && traceback.trim() !== title.trim()) {
        node.append(element("pre", {}, traceback));
      }
      this.node.append(node);
      return;
    }
    this.node.append(renderData(output.data ?? {}));
  }
}
