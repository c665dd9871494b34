// The page: a header, and the view the address's hash names: #/tree/FOLDER (the workspace) or
// #/open/PATH (a runbook). The theme follows the system's light or dark preference.
import "./style.css";
import { showBrowser } from "./browser";
import { notify } from "./dialog";
import { element } from "./render";
import { RunbookView } from "./runbook";

const app = document.getElementById("app")!;
const main = element("main", { id: "main" });
const title = element("span", { class: "title" });
app.append(
  element(
    "header",
    { class: "top" },
    element("a", { href: "#/tree/", class: "brand", title: "Workspace" }, "tejun"),
    title,
  ),
  main,
);

const dark = window.matchMedia("(prefers-color-scheme: dark)");
const applyTheme = () => {
  document.body.dataset.theme = dark.matches ? "dark" : "light";
};
dark.addEventListener("change", applyTheme);
applyTheme();

let current: RunbookView | undefined;
let shown = "";

async function route(): Promise<void> {
  const hash = decodeURIComponent(window.location.hash.slice(1) || "/tree/");
  if (hash === shown) return;
  if (current && !(await current.mayLeave())) {
    history.replaceState(null, "", `#${shown}`);
    return;
  }
  current?.dispose();
  current = undefined;
  shown = hash;
  if (hash.startsWith("/open/")) {
    const path = hash.slice("/open/".length);
    title.textContent = path;
    document.title = `${path} — tejun`;
    const view = new RunbookView(path);
    current = view;
    main.replaceChildren(view.node);
    try {
      await view.load();
    } catch (error) {
      main.replaceChildren(element("p", { class: "load-error", role: "alert" }, `Cannot open ${path}: ${(error as Error).message}`));
      notify((error as Error).message, "error");
    }
    return;
  }
  const folder = hash.startsWith("/tree/") ? hash.slice("/tree/".length).replace(/\/$/, "") : "";
  title.textContent = folder || "Workspace";
  document.title = `${folder || "Workspace"} — tejun`;
  await showBrowser(main, folder);
}

window.addEventListener("hashchange", () => void route());
void route();
