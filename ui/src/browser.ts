// The workspace: the folders and runbooks under the server's root. New runbook (from a
// template), new folder, upload, rename, delete (after a confirmation).
import { contents, type ContentsModel } from "./api";
import { ask, notify } from "./dialog";
import { button, element } from "./render";

const TEMPLATE = `---
title: New runbook
kernel: tejun
---

# New runbook

What this runbook is for, and when to use it.

## 1. Look before you change anything

\`\`\`sh {name=check}
echo "replace this with the first check"
\`\`\`
`;

function join(folder: string, name: string): string {
  return folder ? `${folder}/${name}` : name;
}

function isRunbook(entry: ContentsModel): boolean {
  return entry.type === "notebook" || entry.name.endsWith(".md") || entry.name.endsWith(".ipynb");
}

function routeOf(entry: ContentsModel): string {
  return entry.type === "directory" ? `#/tree/${entry.path}` : `#/open/${entry.path}`;
}

function icon(entry: ContentsModel): string {
  return entry.type === "directory" ? "📁" : isRunbook(entry) ? "📘" : "📄";
}

function when(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? "" : date.toLocaleString();
}

async function readBase64(file: File): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

export async function showBrowser(root: HTMLElement, folder: string): Promise<void> {
  const list = element("ul", { class: "file-list", "data-testid": "file-list", "aria-label": "Files" });
  const reload = () => showBrowser(root, folder);

  const upload = element("input", { type: "file", "data-testid": "upload", id: "upload", multiple: "", class: "visually-hidden" });
  upload.addEventListener("change", async () => {
    for (const file of upload.files ?? []) {
      try {
        await contents.saveFile(join(folder, file.name), await readBase64(file), "base64");
        notify(`Uploaded ${file.name}`);
      } catch (error) {
        notify(String((error as Error).message), "error");
      }
    }
    void reload();
  });

  const toolbar = element(
    "div",
    { class: "toolbar", role: "toolbar", "aria-label": "Workspace" },
    button("New runbook", { "data-testid": "new-runbook", class: "primary" }, async () => {
      const name = await ask("New runbook", "A Markdown runbook, made from a template.", { input: "new-runbook.md" });
      if (!name) return;
      const path = join(folder, name.endsWith(".md") || name.endsWith(".ipynb") ? name : `${name}.md`);
      try {
        await contents.get(path, false);
        notify(`${path} already exists`, "error");
        return;
      } catch {
        // free: go on
      }
      try {
        await contents.saveFile(path, TEMPLATE, "text");
        window.location.hash = `#/open/${path}`;
      } catch (error) {
        notify((error as Error).message, "error");
      }
    }),
    button("New folder", { "data-testid": "new-folder" }, async () => {
      const name = await ask("New folder", "", { input: "folder" });
      if (!name) return;
      try {
        await contents.newFolder(join(folder, name));
        void reload();
      } catch (error) {
        notify((error as Error).message, "error");
      }
    }),
    element("label", { for: "upload", class: "button", tabindex: "0", role: "button" }, "Upload"),
    upload,
  );
  const label = toolbar.querySelector("label")!;
  label.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      upload.click();
    }
  });

  const crumbs = element("nav", { class: "crumbs", "aria-label": "Folder" }, element("a", { href: "#/tree/" }, "root"));
  let so_far = "";
  for (const part of folder.split("/").filter(Boolean)) {
    so_far = join(so_far, part);
    crumbs.append(" / ", element("a", { href: `#/tree/${so_far}` }, part));
  }

  const view = element("section", { class: "browser", "data-testid": "browser" }, crumbs, toolbar, list);
  root.replaceChildren(view);

  let model: ContentsModel;
  try {
    model = await contents.get(folder);
  } catch (error) {
    list.append(element("li", { class: "empty" }, (error as Error).message));
    return;
  }
  const entries = (model.content as ContentsModel[]).sort(
    (a, b) => Number(b.type === "directory") - Number(a.type === "directory") || a.name.localeCompare(b.name),
  );
  if (folder) {
    const up = folder.includes("/") ? folder.slice(0, folder.lastIndexOf("/")) : "";
    list.append(element("li", { class: "file-row" }, element("a", { href: `#/tree/${up}`, class: "file-link" }, "⬆ ..")));
  }
  if (entries.length === 0) {
    list.append(element("li", { class: "empty" }, "This folder is empty: make a runbook, or upload one."));
  }
  for (const entry of entries) {
    const row = element(
      "li",
      { class: "file-row", "data-testid": "file-entry", "data-path": entry.path, "data-type": entry.type },
      element("a", { href: routeOf(entry), class: "file-link" }, element("span", { "aria-hidden": "true" }, icon(entry)), " ", entry.name),
      element("span", { class: "file-time" }, when(entry.last_modified)),
      button("Rename", { "data-action": "rename", "aria-label": `Rename ${entry.name}` }, async () => {
        const name = await ask(`Rename ${entry.name}`, "", { input: entry.name });
        if (!name || name === entry.name) return;
        try {
          await contents.rename(entry.path, join(folder, name));
          void reload();
        } catch (error) {
          notify((error as Error).message, "error");
        }
      }),
      button("Delete", { "data-action": "delete", class: "danger", "aria-label": `Delete ${entry.name}` }, async () => {
        const sure = await ask(`Delete ${entry.name}?`, entry.type === "directory" ? "The folder must be empty: the server deletes no folder with files in it." : "This cannot be undone.", {
          okLabel: "Delete",
          danger: true,
        });
        if (!sure) return;
        try {
          await contents.remove(entry.path);
          notify(`Deleted ${entry.name}`);
          void reload();
        } catch (error) {
          notify((error as Error).message, "error");
        }
      }),
    );
    list.append(row);
  }
}
