// The side panels of a runbook: the kernel's environment and the session's history.
import type { Output } from "./api";
import { button, element } from "./render";

export interface HistoryEntry {
  index: number;
  name: string;
  started: Date;
  seconds?: number;
  outcome?: "ok" | "error" | "interrupted";
}

export interface VariableSource {
  project: string;
  environment: string;
  level: string;
}

// `%gitlab variables` prints "loaded N variables from PROJECT (environment ENV):" over a table
// with NAME and LEVEL columns: where each variable came from.
export function gitlabSources(data: Record<string, unknown>): Map<string, VariableSource> {
  const found = new Map<string, VariableSource>();
  const text = String(data["text/plain"] ?? "");
  const title = /^loaded \d+ variables? from (\S+) \((?:environment (.*)|no environment)\):/.exec(text);
  const resource = data["application/vnd.dataresource+json"] as { data?: Record<string, unknown>[] } | undefined;
  if (!title || !resource?.data) {
    return found;
  }
  for (const row of resource.data) {
    found.set(String(row.NAME), { project: title[1], environment: title[2] ?? "", level: String(row.LEVEL ?? "") });
  }
  return found;
}

export class EnvironmentPanel {
  readonly node = element("aside", { class: "panel", "data-testid": "env-panel", "aria-label": "Environment" });
  readonly sources = new Map<string, VariableSource>();
  private readonly list = element("table", { class: "env-table" });
  private readonly status = element("p", { class: "panel-status" });

  constructor(refresh: () => void) {
    this.node.append(
      element("div", { class: "panel-head" }, element("h2", {}, "Environment"), button("Refresh", { "data-action": "refresh-env" }, refresh)),
      this.status,
      this.list,
    );
  }

  loading(): void {
    this.status.textContent = "Reading the kernel's variables…";
  }

  failed(message: string): void {
    this.status.textContent = message;
  }

  // `%env`'s listing: NAME=value lines, secrets already masked by the kernel.
  show(outputs: Output[]): void {
    const text = outputs
      .map((output) => (output.output_type === "stream" ? String(output.text ?? "") : String(output.data?.["text/plain"] ?? "")))
      .join("\n");
    const rows: HTMLElement[] = [];
    let count = 0;
    for (const line of text.split("\n")) {
      const equals = line.indexOf("=");
      if (equals <= 0 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(line.slice(0, equals))) {
        continue;
      }
      const name = line.slice(0, equals);
      if (name.startsWith("__tejun") || name === "_") {
        continue;
      }
      const value = line.slice(equals + 1);
      const source = this.sources.get(name);
      count += 1;
      rows.push(
        element(
          "tr",
          { "data-testid": "env-row", "data-name": name, class: value === "[MASKED]" ? "masked" : "" },
          element("th", { scope: "row" }, name),
          element("td", { class: "env-value" }, value),
          element(
            "td",
            { class: "env-source" },
            source ? `GitLab ${source.project}${source.environment ? `, environment ${source.environment}` : ""}${source.level ? ` (${source.level})` : ""}` : "",
          ),
        ),
      );
    }
    this.list.replaceChildren(
      element("thead", {}, element("tr", {}, element("th", { scope: "col" }, "Name"), element("th", { scope: "col" }, "Value"), element("th", { scope: "col" }, "From"))),
      element("tbody", {}, ...rows),
    );
    this.status.textContent = `${count} variables; masked ones show as [MASKED].`;
  }
}

export class HistoryPanel {
  readonly node = element("aside", { class: "panel", "data-testid": "history-panel", "aria-label": "Session history" });
  private readonly list = element("ol", { class: "history" });
  readonly entries: HistoryEntry[] = [];

  constructor(private readonly select: (index: number) => void) {
    this.node.append(element("div", { class: "panel-head" }, element("h2", {}, "Session history")), this.list);
    this.render();
  }

  add(entry: HistoryEntry): void {
    this.entries.push(entry);
    this.render();
  }

  render(): void {
    if (this.entries.length === 0) {
      this.list.replaceChildren(element("li", { class: "empty" }, "No step has run in this session yet."));
      return;
    }
    this.list.replaceChildren(
      ...this.entries
        .slice()
        .reverse()
        .map((entry) => {
          const outcome = entry.outcome ?? "running";
          const row = element(
            "li",
            { "data-testid": "history-row", "data-outcome": outcome, class: `history-row ${outcome}` },
            element("span", { class: "history-outcome" }, outcome === "ok" ? "✓" : outcome === "running" ? "…" : "✗"),
            " ",
            button(entry.name, { class: "link", title: "Show this step" }, () => this.select(entry.index)),
            element("span", { class: "history-time" }, ` ${entry.started.toLocaleTimeString()}`),
            element("span", { class: "history-duration" }, entry.seconds === undefined ? "" : ` ${entry.seconds.toFixed(2)} s`),
            element("span", { class: "history-label" }, ` ${outcome}`),
          );
          return row;
        }),
    );
  }
}
