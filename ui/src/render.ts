// Prose and untrusted HTML: Markdown through markdown-it (raw HTML allowed), then everything
// through DOMPurify before it reaches the page. Links open in a new tab, never with the opener.
import DOMPurify from "dompurify";
import MarkdownIt from "markdown-it";

const markdown = new MarkdownIt({ html: true, linkify: true, typographer: false });

DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  if (node instanceof HTMLAnchorElement && node.getAttribute("href") && !node.getAttribute("href")!.startsWith("#")) {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer");
  }
});

export function sanitizeHtml(html: string): DocumentFragment {
  return DOMPurify.sanitize(html, { RETURN_DOM_FRAGMENT: true, FORBID_TAGS: ["style", "form"] });
}

export function sanitizeSvg(svg: string): DocumentFragment {
  return DOMPurify.sanitize(svg, {
    RETURN_DOM_FRAGMENT: true,
    USE_PROFILES: { svg: true, svgFilters: true },
  });
}

export function renderMarkdown(text: string): DocumentFragment {
  return sanitizeHtml(markdown.render(text));
}

// Many pieces of prose in one pass of the sanitiser (it parses a document per call: for a
// runbook of 100 prose cells, most of the time to open it). Each piece is wrapped in a
// <section>, whose end tag closes whatever a piece left open; a piece that still breaks out
// (an unclosed <textarea>, say) makes the pieces be rendered one by one.
export function renderMarkdownMany(texts: string[]): DocumentFragment[] {
  const html = texts.map((text, i) => `<section data-tejun-piece="${i}">${markdown.render(text)}</section>`).join("");
  const all = sanitizeHtml(html);
  const sections = Array.from(all.children);
  const intact =
    sections.length === texts.length &&
    sections.every((section, i) => section.tagName === "SECTION" && section.getAttribute("data-tejun-piece") === String(i));
  if (!intact) {
    return texts.map(renderMarkdown);
  }
  return sections.map((section) => {
    const piece = document.createDocumentFragment();
    piece.append(...section.childNodes);
    return piece;
  });
}

// ANSI escape sequences (colours, cursor moves) out of terminal text.
// eslint-disable-next-line no-control-regex
const ansi = /\u001b\[[0-9;?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b[()][0-9A-B]/g;

export function stripAnsi(text: string): string {
  return text.includes("\u001b") ? text.replace(ansi, "") : text;
}

export function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "class") {
      node.className = value;
    } else {
      node.setAttribute(name, value);
    }
  }
  node.append(...children);
  return node;
}

export function button(label: string, attributes: Record<string, string>, onClick: (event: MouseEvent) => void) {
  const node = element("button", { type: "button", ...attributes }, label);
  node.addEventListener("click", onClick);
  return node;
}
