// One cell of a runbook on the page: prose (rendered Markdown) or a step (its language, name,
// Run buttons, source and outputs). Editing mounts CodeMirror, loaded on first use.
import type { EditorView } from "@codemirror/view";
import type { Cell } from "./api";
import { OutputArea } from "./outputs";
import { button, element, renderMarkdown } from "./render";

const EMPTY_PROSE = "*Empty prose: double-click to write.*";

// The text a prose cell shows.
export function proseText(cell: Cell): string {
  return text(cell.source) || EMPTY_PROSE;
}

export type StepState = "idle" | "queued" | "running" | "ok" | "error";

export const LANGUAGES = ["sh", "sql", "http", "python", "markdown", "html"];

export interface CellHost {
  select(view: CellView, focus?: boolean): void;
  run(view: CellView, andFollowing: boolean): void;
  changed(): void;
  editorKey(view: CellView, name: "escape" | "run-next" | "run" | "save"): boolean;
  action(view: CellView, name: string, value?: string): void;
}

export function text(source: string | string[]): string {
  return Array.isArray(source) ? source.join("") : source;
}

function tejunMetadata(cell: Cell): Record<string, unknown> {
  const value = cell.metadata.tejun;
  return value && typeof value === "object" ? (value as Record<string, unknown>) : {};
}

export function stepLanguage(cell: Cell): string {
  const language = tejunMetadata(cell).language;
  return typeof language === "string" && language ? language.toLowerCase() : "sh";
}

export function stepAttributes(cell: Cell): Record<string, unknown> {
  const attributes = tejunMetadata(cell).attributes;
  return attributes && typeof attributes === "object" ? (attributes as Record<string, unknown>) : {};
}

export function stepName(cell: Cell, index: number): string {
  const name = stepAttributes(cell).name ?? cell.metadata.name;
  return typeof name === "string" && name ? name : `step ${index + 1}`;
}

// What the tejun kernel runs for a step: its source, behind the cell magic of its language
// (```sql {connection=db limit=50} becomes %%sql db --limit 50), as `tejun run` does.
export function stepCode(cell: Cell): string {
  const language = stepLanguage(cell);
  const source = text(cell.source);
  if (["sh", "bash", "shell", "console", ""].includes(language) || source.startsWith("%%")) {
    return source;
  }
  let args = "";
  const attributes = stepAttributes(cell);
  const quoted = (value: string) => (/[ \t]/.test(value) ? `'${value}'` : value);
  if (language === "sql" || language === "http") {
    if (language === "sql" && typeof attributes.connection === "string" && attributes.connection) {
      args += ` ${quoted(attributes.connection)}`;
    }
    for (const option of ["limit", "out", "timeout"]) {
      const value = attributes[option];
      if (value !== undefined && value !== null) {
        args += ` --${option} ${quoted(typeof value === "string" ? value : JSON.stringify(value))}`;
      }
    }
    const fail = attributes.fail;
    if (language === "http" && (fail === true || (typeof fail === "string" && fail !== "false"))) {
      args += " --fail";
    }
  }
  return `%%${language}${args}\n${source}`;
}

export class CellView {
  readonly node: HTMLElement;
  readonly outputs = new OutputArea();
  editor?: EditorView;
  state: StepState = "idle";
  private readonly sourceBox = element("div", { class: "cell-source", "data-testid": "cell-source" });
  private readonly prose = element("div", { class: "prose", "data-testid": "prose" });
  readonly promptSlot = element("div", { class: "prompt-slot" });
  private readonly languageLabel = element("span", { class: "cell-language", "data-testid": "cell-language" });
  private readonly nameLabel = element("span", { class: "cell-name", "data-testid": "cell-name" });
  private readonly countLabel = element("span", { class: "cell-count", "aria-label": "execution count" });

  // `rendered`: the prose of a markdown cell, already rendered (renderMarkdownMany).
  constructor(
    readonly cell: Cell,
    public index: number,
    private readonly host: CellHost,
    rendered?: DocumentFragment,
  ) {
    const isCode = cell.cell_type === "code";
    this.node = element("article", {
      class: `cell ${isCode ? "code" : "markdown"}`,
      "data-testid": "cell",
      "data-type": isCode ? "code" : cell.cell_type === "raw" ? "raw" : "markdown",
      tabindex: "-1",
    });
    this.node.addEventListener("mousedown", () => host.select(this, false));
    const actions = element(
      "div",
      { class: "cell-actions", role: "toolbar", "aria-label": "Cell" },
      button("↑", { "data-action": "move-up", "aria-label": "Move up", title: "Move up" }, () => host.action(this, "move-up")),
      button("↓", { "data-action": "move-down", "aria-label": "Move down", title: "Move down" }, () => host.action(this, "move-down")),
      button("+ Step", { "data-action": "add-step", title: "Add a step below" }, () => host.action(this, "add-step")),
      button("+ Prose", { "data-action": "add-prose", title: "Add prose below" }, () => host.action(this, "add-prose")),
      button("Delete", { "data-action": "delete", class: "danger", "aria-label": "Delete cell" }, () => host.action(this, "delete")),
    );
    if (isCode) {
      const language = element("select", { "data-action": "set-language", "aria-label": "Step language" });
      for (const name of LANGUAGES) {
        language.append(element("option", { value: name }, name));
      }
      language.value = stepLanguage(cell);
      language.addEventListener("change", () => host.action(this, "set-language", language.value));
      actions.prepend(language);
      const head = element(
        "header",
        { class: "cell-head" },
        this.countLabel,
        this.languageLabel,
        this.nameLabel,
        actions,
        element("span", { class: "cell-state", "aria-live": "polite" }),
        button("▶ Run", { class: "run", "data-testid": "run-step", title: "Run this step (Ctrl-Enter)" }, () => host.run(this, false)),
        button("Run from here", { "data-testid": "run-from-here", title: "Run this step and every one after it" }, () => host.run(this, true)),
      );
      this.node.append(head, this.sourceBox, this.promptSlot, this.outputs.node);
      this.sourceBox.addEventListener("click", () => this.edit());
      this.outputs.load(cell.outputs ?? []);
      if (this.outputs.hasError()) {
        this.setState("error");
      }
    } else {
      this.node.append(this.prose, this.sourceBox, actions);
      this.prose.addEventListener("dblclick", () => this.edit());
    }
    this.refresh(rendered);
    this.setState(this.state);
  }

  get isCode(): boolean {
    return this.cell.cell_type === "code";
  }

  source(): string {
    return this.editor ? this.editor.state.doc.toString() : text(this.cell.source);
  }

  // The labels and the static view of the source, from the cell.
  refresh(rendered?: DocumentFragment): void {
    this.node.dataset.index = String(this.index);
    if (this.isCode) {
      this.languageLabel.textContent = stepLanguage(this.cell);
      this.nameLabel.textContent = stepName(this.cell, this.index);
      const count = this.cell.execution_count;
      this.countLabel.textContent = count ? `[${count}]` : "[ ]";
      if (!this.editor) {
        this.sourceBox.replaceChildren(element("pre", { class: "source" }, element("code", {}, text(this.cell.source) || " ")));
      }
    } else if (!this.editor) {
      this.prose.hidden = false;
      this.sourceBox.hidden = true;
      if (this.cell.cell_type === "raw") {
        // A raw cell (nbconvert's) is shown as it is, and kept as it is.
        this.prose.replaceChildren(element("pre", { class: "source raw" }, text(this.cell.source)));
      } else {
        this.prose.replaceChildren(rendered ?? renderMarkdown(proseText(this.cell)));
      }
    }
  }

  setState(state: StepState): void {
    this.state = state;
    if (this.isCode) {
      this.node.dataset.state = state;
      const label = this.node.querySelector(".cell-state");
      if (label) {
        label.textContent = { idle: "", queued: "queued", running: "running…", ok: "✓ done", error: "✗ failed" }[state];
      }
    }
  }

  async edit(): Promise<void> {
    this.host.select(this, false);
    if (this.editor) {
      this.editor.focus();
      return;
    }
    const { createEditor } = await import("./editor");
    if (this.editor) return;
    this.prose.hidden = true;
    this.sourceBox.hidden = false;
    this.sourceBox.replaceChildren();
    this.node.classList.add("editing");
    this.editor = createEditor(this.sourceBox, text(this.cell.source), this.isCode ? stepLanguage(this.cell) : "markdown", {
      change: (value) => {
        this.cell.source = value;
        this.host.changed();
      },
      key: (name) => this.host.editorKey(this, name),
    });
  }

  // Back to command mode: the editor goes, the source stays.
  stopEditing(): void {
    if (!this.editor) return;
    this.cell.source = this.editor.state.doc.toString();
    this.editor.destroy();
    this.editor = undefined;
    this.node.classList.remove("editing");
    this.refresh();
  }
}
