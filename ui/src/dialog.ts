// Modal dialogs (native <dialog>): a question, optionally with a name to type, and a notice line.
import { button, element } from "./render";

export interface Choice {
  label: string;
  value: string;
  testid: string;
  danger?: boolean;
}

// Resolves with the chosen value, or null when cancelled (Esc or Cancel). With `input`, an OK
// resolves with the text typed.
export function ask(
  title: string,
  message: string,
  options: { input?: string; choices?: Choice[]; testid?: string; okLabel?: string; danger?: boolean } = {},
): Promise<string | null> {
  return new Promise((resolve) => {
    const dialog = element("dialog", { class: "dialog", "data-testid": options.testid ?? "dialog", "aria-labelledby": "dialog-title" });
    const form = element("form", { method: "dialog" });
    form.append(element("h2", { id: "dialog-title" }, title));
    if (message) {
      form.append(element("p", {}, message));
    }
    let field: HTMLInputElement | undefined;
    if (options.input !== undefined) {
      field = element("input", { type: "text", "data-testid": "dialog-input", "aria-label": title, spellcheck: "false" });
      field.value = options.input;
      form.append(field);
    }
    let settled = false;
    const done = (value: string | null) => {
      if (!settled) {
        settled = true;
        dialog.close();
        dialog.remove();
        resolve(value);
      }
    };
    const row = element("div", { class: "dialog-buttons" });
    const choices = options.choices ?? [
      { label: options.okLabel ?? "OK", value: "ok", testid: "dialog-ok", danger: options.danger },
    ];
    for (const choice of choices) {
      row.append(
        button(choice.label, { class: choice.danger ? "danger" : "primary", "data-testid": choice.testid }, () =>
          done(field ? field.value : choice.value),
        ),
      );
    }
    row.append(button("Cancel", { "data-testid": "dialog-cancel" }, () => done(null)));
    form.append(row);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      done(field ? field.value : choices[0].value);
    });
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      done(null);
    });
    dialog.append(form);
    document.body.append(dialog);
    dialog.showModal();
    if (field) {
      field.focus();
      const dot = field.value.lastIndexOf(".");
      field.setSelectionRange(0, dot > 0 ? dot : field.value.length);
    }
  });
}

let notice: HTMLElement | undefined;
let timer = 0;

export function notify(text: string, kind: "info" | "error" = "info"): void {
  if (!notice) {
    notice = element("div", { class: "notice", "data-testid": "notice", role: "status", "aria-live": "polite" });
    document.body.append(notice);
  }
  notice.textContent = text;
  notice.dataset.kind = kind;
  notice.hidden = false;
  window.clearTimeout(timer);
  if (kind === "info") {
    timer = window.setTimeout(() => {
      if (notice) notice.hidden = true;
    }, 4000);
  }
  notice.onclick = () => {
    if (notice) notice.hidden = true;
  };
}
