// CodeMirror 6 for editing a step or a piece of prose. Loaded when the first cell is edited, so
// that opening a runbook does not wait for it.
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { sql, PostgreSQL } from "@codemirror/lang-sql";
import { bracketMatching, defaultHighlightStyle, indentOnInput, StreamLanguage, syntaxHighlighting } from "@codemirror/language";
import { shell } from "@codemirror/legacy-modes/mode/shell";
import { python } from "@codemirror/legacy-modes/mode/python";
import { EditorState, type Extension } from "@codemirror/state";
import { drawSelection, EditorView, highlightActiveLine, keymap, lineNumbers } from "@codemirror/view";

export interface EditorHooks {
  change(text: string): void;
  // Esc; Shift-Enter, Ctrl-Enter (run); Ctrl-S (save). True when handled.
  key(name: "escape" | "run-next" | "run" | "save"): boolean;
}

function language(name: string): Extension {
  switch (name) {
    case "sql":
      return sql({ dialect: PostgreSQL });
    case "python":
    case "py":
      return StreamLanguage.define(python);
    case "markdown":
    case "http":
      return [];
    default:
      return StreamLanguage.define(shell);
  }
}

export function createEditor(parent: HTMLElement, text: string, languageName: string, hooks: EditorHooks): EditorView {
  const own = keymap.of([
    { key: "Escape", run: () => hooks.key("escape") },
    { key: "Shift-Enter", run: () => hooks.key("run-next") },
    { key: "Mod-Enter", run: () => hooks.key("run") },
    { key: "Mod-s", run: () => hooks.key("save"), preventDefault: true },
  ]);
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: text,
      extensions: [
        own,
        languageName === "markdown" ? [] : lineNumbers(),
        history(),
        drawSelection(),
        highlightActiveLine(),
        indentOnInput(),
        bracketMatching(),
        syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
        keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab]),
        language(languageName),
        EditorView.lineWrapping,
        EditorView.contentAttributes.of({ "aria-label": languageName === "markdown" ? "Prose" : `${languageName} step` }),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) {
            hooks.change(update.state.doc.toString());
          }
        }),
      ],
    }),
  });
  view.focus();
  return view;
}
