// A runbook open on the page: its cells, the kernel of its session, running steps one after
// another (the page follows the running one), input prompts, saving with conflict detection and
// autosave, and the environment and history panels.
import { ApiError, contents, kernels, sessions, type Cell, type Notebook, type Output } from "./api";
import { CellView, proseText, stepCode, stepName, type CellHost } from "./cells";
import { ask, notify } from "./dialog";
import { KernelConnection, type KernelState } from "./kernel";
import { EnvironmentPanel, gitlabSources, HistoryPanel, type HistoryEntry } from "./panels";
import { button, element, renderMarkdownMany } from "./render";

const AUTOSAVE_SECONDS = 30;

export class RunbookView implements CellHost {
  readonly node: HTMLElement;
  private notebook!: Notebook;
  private lastModified = "";
  private views: CellView[] = [];
  private selected?: CellView;
  private kernel?: KernelConnection;
  private queue: CellView[] = [];
  private running?: CellView;
  private dirty = false;
  private saving = false;
  private readonly cellsNode = element("div", { class: "cells" });
  private readonly status = element("span", { class: "kernel-status", "data-testid": "kernel-status", role: "status" }, "no kernel");
  private readonly dirtyMarker = element("span", { class: "dirty", "data-testid": "dirty", title: "Unsaved changes" }, "● unsaved");
  private readonly environment = new EnvironmentPanel(() => this.refreshEnvironment());
  private readonly history = new HistoryPanel((index) => this.views[index] && this.select(this.views[index], true));
  private readonly panels = element("div", { class: "panels" });
  private readonly parametersNode = element("form", { class: "parameters", "data-testid": "parameters", "aria-label": "Parameters" });
  private parameters: Record<string, string> = {};
  private appliedParameters?: string;
  private autosave = 0;
  private disposed = false;
  private readonly keyHandler = (event: KeyboardEvent) => this.onKey(event);

  constructor(readonly path: string) {
    this.dirtyMarker.hidden = true;
    this.environment.node.hidden = true;
    this.history.node.hidden = true;
    this.panels.append(this.environment.node, this.history.node);
    const toolbar = element(
      "div",
      { class: "toolbar runbook-toolbar", role: "toolbar", "aria-label": "Runbook" },
      button("▶ Run all", { "data-testid": "run-all", class: "primary", title: "Run every step, top to bottom" }, () => this.runFrom(0)),
      button("■ Interrupt", { "data-testid": "interrupt", title: "Interrupt the running step (I, I)" }, () => this.interrupt()),
      button("↻ Restart", { "data-testid": "restart", title: "Restart the kernel (0, 0)" }, () => this.restart()),
      button("Save", { "data-testid": "save", title: "Save (Ctrl-S)" }, () => this.save()),
      this.dirtyMarker,
      element("span", { class: "spacer" }),
      button("Environment", { "data-testid": "toggle-env", "aria-pressed": "false" }, (event) => this.toggle(this.environment.node, event)),
      button("History", { "data-testid": "toggle-history", "aria-pressed": "false" }, (event) => this.toggle(this.history.node, event)),
      element("span", { class: "kernel-label" }, "Kernel: "),
      this.status,
    );
    this.node = element(
      "section",
      { class: "runbook", "data-testid": "runbook", "data-path": path },
      toolbar,
      this.parametersNode,
      element("div", { class: "runbook-body" }, this.cellsNode, this.panels),
    );
    this.setKernelState("no kernel");
    document.addEventListener("keydown", this.keyHandler);
    window.addEventListener("beforeunload", this.beforeUnload);
    this.autosave = window.setInterval(() => this.dirty && !this.saving && !document.querySelector("dialog[open]") && this.save(), AUTOSAVE_SECONDS * 1000);
  }

  private readonly beforeUnload = (event: BeforeUnloadEvent) => {
    if (this.dirty) {
      event.preventDefault();
    }
  };

  // True when the page may leave this runbook (nothing unsaved, or the operator says so).
  async mayLeave(): Promise<boolean> {
    if (!this.dirty) return true;
    const choice = await ask("Unsaved changes", `${this.path} has changes that are not saved.`, {
      choices: [
        { label: "Save and leave", value: "save", testid: "dialog-ok" },
        { label: "Leave without saving", value: "discard", testid: "dialog-discard", danger: true },
      ],
    });
    if (choice === "save") return this.save();
    return choice === "discard";
  }

  dispose(): void {
    this.disposed = true;
    document.removeEventListener("keydown", this.keyHandler);
    window.removeEventListener("beforeunload", this.beforeUnload);
    window.clearInterval(this.autosave);
    this.kernel?.close();
  }

  async load(): Promise<void> {
    const model = await contents.notebook(this.path);
    this.notebook = model.content as Notebook;
    this.lastModified = model.last_modified;
    this.render();
    this.renderParameters();
    this.node.dataset.ready = "true";
    performance.mark("tejun:runbook-ready");
    void this.startKernel();
  }

  private render(): void {
    for (const view of this.views) view.editor?.destroy();
    const cells = this.notebook.cells;
    const prose = cells.filter((cell) => cell.cell_type === "markdown");
    const rendered = renderMarkdownMany(prose.map(proseText));
    let next = 0;
    this.views = cells.map((cell, index) => new CellView(cell, index, this, cell.cell_type === "markdown" ? rendered[next++] : undefined));
    this.cellsNode.replaceChildren(...this.views.map((view) => view.node));
    if (this.views.length === 0) {
      this.cellsNode.append(element("p", { class: "empty" }, "This runbook is empty."), button("+ Step", { "data-action": "add-step" }, () => this.insert(0, "code")));
    }
    this.selected = undefined;
    if (this.views[0]) this.select(this.views[0], false);
  }

  // The front matter's parameters, with their defaults, as fields: what the steps see as
  // exported shell variables (as `tejun run -p NAME VALUE` gives them).
  private renderParameters(): void {
    const declared = (this.notebook.metadata.tejun as { parameters?: Record<string, unknown> } | undefined)?.parameters ?? {};
    this.parameters = {};
    this.parametersNode.replaceChildren();
    this.parametersNode.hidden = Object.keys(declared).length === 0 || this.kernelName() !== "tejun";
    if (!this.parametersNode.hidden) this.parametersNode.append(element("span", { class: "parameters-title" }, "Parameters"));
    for (const [name, value] of Object.entries(declared)) {
      const text = value === null ? "" : typeof value === "object" ? JSON.stringify(value) : String(value);
      this.parameters[name] = text;
      const field = element("input", { name, id: `parameter-${name}`, "data-parameter": name, spellcheck: "false" });
      field.value = text;
      field.addEventListener("input", () => {
        this.parameters[name] = field.value;
      });
      this.parametersNode.append(element("label", { for: field.id }, name), field);
    }
    this.appliedParameters = undefined;
  }

  private parametersSource(): string {
    const quote = (value: string) => `'${value.replaceAll("'", "'\\''")}'`;
    return Object.entries(this.parameters)
      .filter(([name]) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
      .map(([name, value]) => `export ${name}=${quote(value)}`)
      .join("\n");
  }

  private kernelName(): string {
    const spec = this.notebook.metadata.kernelspec as { name?: string } | undefined;
    return spec?.name || "tejun";
  }

  private async startKernel(): Promise<void> {
    this.setKernelState("starting");
    try {
      const existing = (await sessions.list()).find((session) => session.path === this.path);
      const session = existing ?? (await sessions.create(this.path, this.kernelName()));
      if (this.disposed) return;
      this.kernel = new KernelConnection(session.kernel.id);
      this.kernel.onState((state) => this.setKernelState(state));
      this.next();
    } catch (error) {
      this.setKernelState("dead");
      notify(`No kernel for ${this.path}: ${(error as Error).message}`, "error");
    }
  }

  private setKernelState(state: KernelState): void {
    this.status.textContent = state;
    this.status.dataset.state = state;
    if (state === "dead" || state === "restarting") {
      this.appliedParameters = undefined;
      this.stopQueue();
    }
  }

  private toggle(panel: HTMLElement, event: MouseEvent): void {
    panel.hidden = !panel.hidden;
    (event.currentTarget as HTMLElement).setAttribute("aria-pressed", String(!panel.hidden));
    this.node.classList.toggle("with-panels", !this.environment.node.hidden || !this.history.node.hidden);
    if (panel === this.environment.node && !panel.hidden) {
      this.refreshEnvironment();
    }
  }

  private refreshEnvironment(): void {
    if (!this.kernel) {
      this.environment.failed("No kernel yet.");
      return;
    }
    this.environment.loading();
    const outputs: Output[] = [];
    this.kernel.execute(
      "%env",
      {
        output: (message) => {
          const type = message.header.msg_type;
          if (type === "stream" || type === "display_data" || type === "execute_result") {
            outputs.push({ output_type: type, ...message.content } as Output);
          }
        },
        input: () => undefined,
        done: (reply) => (reply.status === "ok" ? this.environment.show(outputs) : this.environment.failed(`%env failed: ${String(reply.evalue ?? reply.status)}`)),
      },
      { storeHistory: false },
    );
  }

  // --- selection and keyboard (Jupyter's command and edit modes) ---

  select(view: CellView, focus = true): void {
    if (this.selected !== view) {
      this.selected?.node.classList.remove("selected");
      if (this.selected?.editor && this.selected !== view) this.selected.stopEditing();
      this.selected = view;
      view.node.classList.add("selected");
    }
    if (focus) {
      view.node.focus({ preventScroll: true });
      view.node.scrollIntoView({ block: "nearest" });
    }
  }

  private onKey(event: KeyboardEvent): void {
    if (document.querySelector("dialog[open]")) return;
    const mod = event.ctrlKey || event.metaKey;
    if (mod && event.key.toLowerCase() === "s") {
      event.preventDefault();
      void this.save();
      return;
    }
    const target = event.target as HTMLElement;
    if (target.closest(".cm-editor") || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName)) return;
    if (target.tagName === "BUTTON" && (event.key === "Enter" || event.key === " ")) return;
    const view = this.selected;
    if (!view) return;
    const at = this.views.indexOf(view);
    if (event.key === "Enter" && event.shiftKey) {
      event.preventDefault();
      this.runSelected(true);
    } else if (event.key === "Enter" && mod) {
      event.preventDefault();
      this.runSelected(false);
    } else if (event.key === "Enter") {
      event.preventDefault();
      void view.edit();
    } else if ((event.key === "ArrowDown" || event.key === "j") && at + 1 < this.views.length) {
      event.preventDefault();
      this.select(this.views[at + 1]);
    } else if ((event.key === "ArrowUp" || event.key === "k") && at > 0) {
      event.preventDefault();
      this.select(this.views[at - 1]);
    }
  }

  editorKey(view: CellView, name: "escape" | "run-next" | "run" | "save"): boolean {
    if (name === "save") {
      void this.save();
    } else if (name === "escape") {
      view.stopEditing();
      this.select(view);
    } else {
      view.stopEditing();
      this.select(view);
      this.runSelected(name === "run-next");
    }
    return true;
  }

  private runSelected(next: boolean): void {
    const view = this.selected;
    if (!view) return;
    if (view.isCode) this.enqueue([view]);
    if (next) {
      const at = this.views.indexOf(view);
      if (at + 1 < this.views.length) this.select(this.views[at + 1]);
    }
  }

  // --- running ---

  run(view: CellView, andFollowing: boolean): void {
    if (andFollowing) {
      this.runFrom(this.views.indexOf(view));
    } else {
      this.enqueue([view]);
    }
  }

  private runFrom(index: number): void {
    this.enqueue(this.views.slice(index).filter((view) => view.isCode));
  }

  // Steps asked for while the kernel is still starting wait for it.
  private enqueue(views: CellView[]): void {
    if (this.status.dataset.state === "dead") {
      notify("The kernel is dead: restart it to run steps.", "error");
      return;
    }
    for (const view of views) {
      if (view !== this.running && !this.queue.includes(view)) {
        view.setState("queued");
        this.queue.push(view);
      }
    }
    this.next();
  }

  private stopQueue(): void {
    for (const view of this.queue) view.setState("idle");
    this.queue = [];
  }

  private next(): void {
    if (this.running || !this.kernel) return;
    const view = this.queue.shift();
    if (!view) return;
    if (view.editor) view.stopEditing();
    // "running" once the kernel says it began the step: an interrupt before that would find
    // nothing to stop.
    this.running = view;
    view.setState("queued");
    view.outputs.clear();
    view.promptSlot.replaceChildren();
    this.select(view, false);
    view.node.scrollIntoView({ block: "nearest" });
    const parameters = this.parametersSource();
    if (parameters && parameters !== this.appliedParameters) {
      this.appliedParameters = parameters;
      this.kernel.execute(parameters, { output: () => undefined, input: () => undefined, done: () => undefined }, { silent: true });
    }
    const entry: HistoryEntry = { index: view.index, name: stepName(view.cell, view.index), started: new Date() };
    this.history.add(entry);
    const started = performance.now();
    this.kernel.execute(stepCode(view.cell), {
      started: () => view.setState("running"),
      output: (message) => {
        if (message.header.msg_type === "display_data") {
          for (const [name, source] of gitlabSources(message.content.data as Record<string, unknown>)) this.environment.sources.set(name, source);
        }
        view.outputs.add(message);
      },
      input: (prompt, password, answer) => this.prompt(view, prompt, password, answer),
      done: (reply) => {
        view.promptSlot.replaceChildren();
        const status = String(reply.status ?? "error");
        const interrupted = status === "abort" || reply.ename === "KeyboardInterrupt" || reply.ename === "Interrupted";
        const failed = status !== "ok" || view.outputs.hasError();
        if (typeof reply.execution_count === "number") view.cell.execution_count = reply.execution_count;
        view.cell.outputs = view.outputs.saved();
        view.setState(failed ? "error" : "ok");
        view.refresh();
        entry.seconds = (performance.now() - started) / 1000;
        entry.outcome = interrupted ? "interrupted" : failed ? "error" : "ok";
        this.history.render();
        this.running = undefined;
        if (failed) {
          if (this.queue.length > 0) notify(`${entry.name} failed: the steps after it were not run.`, "error");
          this.stopQueue();
          view.node.scrollIntoView({ block: "nearest" });
        }
        if (!this.environment.node.hidden) this.refreshEnvironment();
        this.next();
      },
    });
  }

  private prompt(view: CellView, prompt: string, password: boolean, answer: (value: string) => void): void {
    const field = element("input", {
      type: password ? "password" : "text",
      "data-testid": "input-field",
      autocomplete: password ? "new-password" : "off",
      spellcheck: "false",
      id: `prompt-${view.index}`,
    });
    const form = element(
      "form",
      { class: "input-prompt", "data-testid": "input-prompt" },
      element("label", { "data-testid": "input-label", for: field.id }, prompt || (password ? "Secret:" : "Input:")),
      field,
      element("button", { type: "submit", "data-testid": "input-submit", class: "primary" }, "Send"),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const value = field.value;
      form.replaceChildren(element("span", { class: "answered" }, `${prompt} ${password ? "••••••" : value}`));
      answer(value);
    });
    // A confirmation ("… [yes/no]") gets Yes and No buttons beside the field.
    if (!password && /[[(](yes\/no|y\/n)[\])]/i.test(prompt)) {
      for (const choice of ["yes", "no"]) {
        form.append(
          button(choice === "yes" ? "Yes" : "No", { "data-action": `answer-${choice}` }, () => {
            field.value = choice;
            form.requestSubmit();
          }),
        );
      }
    }
    view.promptSlot.replaceChildren(form);
    view.node.scrollIntoView({ block: "nearest" });
    field.focus();
  }

  private async interrupt(): Promise<void> {
    this.stopQueue();
    if (!this.kernel) return;
    try {
      await kernels.interrupt(this.kernel.kernelId);
    } catch (error) {
      notify((error as Error).message, "error");
    }
  }

  private async restart(): Promise<void> {
    if (!this.kernel) return;
    const sure = await ask("Restart the kernel?", "The shell session, its variables and SQL connections are lost.", { okLabel: "Restart", danger: true });
    if (!sure) return;
    this.stopQueue();
    try {
      this.setKernelState("restarting");
      await kernels.restart(this.kernel.kernelId);
      this.kernel.abandonAll("the kernel restarted");
      this.running = undefined;
      this.appliedParameters = undefined;
      this.setKernelState("idle");
      notify("Kernel restarted");
    } catch (error) {
      notify((error as Error).message, "error");
    }
  }

  // --- editing ---

  changed(): void {
    if (!this.dirty) {
      this.dirty = true;
      this.dirtyMarker.hidden = false;
      document.title = `● ${this.path} — tejun`;
    }
  }

  private markClean(): void {
    this.dirty = false;
    this.dirtyMarker.hidden = true;
    document.title = `${this.path} — tejun`;
  }

  private insert(at: number, type: "code" | "markdown"): void {
    const cell: Cell =
      type === "code"
        ? { cell_type: "code", source: "", metadata: { tejun: { language: "sh" } }, outputs: [], execution_count: null }
        : { cell_type: "markdown", source: "", metadata: {} };
    this.notebook.cells.splice(at, 0, cell);
    const view = new CellView(cell, at, this);
    this.views.splice(at, 0, view);
    this.reindex();
    this.changed();
    void view.edit();
  }

  private reindex(): void {
    this.views.forEach((view, index) => {
      view.index = index;
      view.refresh();
    });
    this.cellsNode.replaceChildren(...this.views.map((view) => view.node));
    this.notebook.cells = this.views.map((view) => view.cell);
  }

  async action(view: CellView, name: string, value?: string): Promise<void> {
    const at = this.views.indexOf(view);
    if (name === "move-up" && at > 0) {
      [this.views[at - 1], this.views[at]] = [this.views[at], this.views[at - 1]];
    } else if (name === "move-down" && at + 1 < this.views.length) {
      [this.views[at + 1], this.views[at]] = [this.views[at], this.views[at + 1]];
    } else if (name === "add-step" || name === "add-prose") {
      this.insert(at + 1, name === "add-step" ? "code" : "markdown");
      return;
    } else if (name === "delete") {
      const sure = await ask("Delete this cell?", view.isCode ? `The step ${stepName(view.cell, at)} and its output.` : "This piece of prose.", { okLabel: "Delete", danger: true });
      if (!sure) return;
      view.editor?.destroy();
      this.views.splice(at, 1);
      this.queue = this.queue.filter((queued) => queued !== view);
    } else if (name === "set-language" && value) {
      const tejun = (view.cell.metadata.tejun as Record<string, unknown> | undefined) ?? {};
      view.cell.metadata.tejun = { ...tejun, language: value };
      if (view.editor) {
        view.stopEditing();
        void view.edit();
      }
    } else {
      return;
    }
    this.reindex();
    this.changed();
    if (this.views.includes(view)) this.select(view);
  }

  // --- saving ---

  private snapshot(): Notebook {
    for (const view of this.views) {
      view.cell.source = view.source();
      if (view.isCode && view !== this.running) view.cell.outputs = view.outputs.saved();
    }
    return { ...this.notebook, cells: this.views.map((view) => view.cell) };
  }

  // Saves; a save the server refuses because the file changed since it was read asks whether
  // to reload (dropping these changes) or overwrite (dropping the other ones). True when saved.
  async save(overwrite = false): Promise<boolean> {
    if (this.saving) return false;
    this.saving = true;
    const notebook = this.snapshot();
    const wasDirty = this.dirty;
    try {
      const model = await contents.saveNotebook(this.path, notebook, overwrite ? undefined : this.lastModified);
      this.lastModified = model.last_modified;
      if (wasDirty === this.dirty) this.markClean();
      notify(`Saved ${this.path}`);
      return true;
    } catch (error) {
      if (error instanceof ApiError && error.status === 409) {
        this.saving = false;
        return this.conflict(error.message);
      }
      notify(`Not saved: ${(error as Error).message}`, "error");
      return false;
    } finally {
      this.saving = false;
    }
  }

  private async conflict(message: string): Promise<boolean> {
    const choice = await ask("The file changed on disk", `${message}. Reload it (your changes here are dropped), or overwrite it with yours (the other changes are dropped)?`, {
      testid: "conflict-dialog",
      choices: [
        { label: "Reload theirs", value: "reload", testid: "conflict-reload" },
        { label: "Overwrite with mine", value: "overwrite", testid: "conflict-overwrite", danger: true },
      ],
    });
    if (choice === "reload") {
      const model = await contents.notebook(this.path);
      this.notebook = model.content as Notebook;
      this.lastModified = model.last_modified;
      this.markClean();
      this.render();
      notify(`Reloaded ${this.path}`);
      return false;
    }
    if (choice === "overwrite") return this.save(true);
    return false;
  }
}
