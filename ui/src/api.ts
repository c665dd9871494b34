// The server's Jupyter-compatible REST API, as the UI uses it. Requests are authenticated by
// the cookie the server set when the page was opened with ?token=; those that change state echo
// the _xsrf cookie in X-XSRFToken, as the server asks of cookie-authenticated requests.

// The server's base URL, from the page's own address: the UI lives at {base}ui/.
export const baseUrl: string = (() => {
  const path = window.location.pathname;
  const at = path.lastIndexOf("/ui/");
  return at >= 0 ? path.slice(0, at + 1) : "/";
})();

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function cookie(name: string): string {
  for (const part of document.cookie.split(";")) {
    const [key, ...value] = part.trim().split("=");
    if (key === name) {
      return decodeURIComponent(value.join("="));
    }
  }
  return "";
}

function encodePath(path: string): string {
  return path.split("/").map(encodeURIComponent).join("/");
}

export async function request<T>(method: string, target: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (method !== "GET") {
    headers["X-XSRFToken"] = cookie("_xsrf");
  }
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
  }
  let response: Response;
  try {
    response = await fetch(baseUrl + target, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
  } catch (error) {
    throw new ApiError(0, `the server does not answer (${method} ${target}): ${String(error)}`);
  }
  const text = await response.text();
  if (!response.ok) {
    let message = text;
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? text;
    } catch {
      // not JSON: the text as it is
    }
    throw new ApiError(response.status, `${method} ${target}: ${response.status} ${message}`);
  }
  return (text ? JSON.parse(text) : undefined) as T;
}

export interface ContentsModel {
  name: string;
  path: string;
  type: "directory" | "notebook" | "file";
  last_modified: string;
  created?: string;
  size?: number | null;
  writable?: boolean;
  format?: string | null;
  mimetype?: string | null;
  content: unknown;
}

export interface Output {
  output_type: "stream" | "display_data" | "execute_result" | "error";
  name?: "stdout" | "stderr";
  text?: string | string[];
  data?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
  execution_count?: number | null;
  ename?: string;
  evalue?: string;
  traceback?: string[];
}

export interface Cell {
  cell_type: "markdown" | "code" | "raw";
  id?: string;
  source: string | string[];
  metadata: Record<string, unknown>;
  outputs?: Output[];
  execution_count?: number | null;
  attachments?: unknown;
}

export interface Notebook {
  cells: Cell[];
  metadata: Record<string, unknown>;
  nbformat: number;
  nbformat_minor: number;
}

export const contents = {
  get(path: string, content = true): Promise<ContentsModel> {
    return request("GET", `api/contents/${encodePath(path)}?content=${content ? 1 : 0}`);
  },
  notebook(path: string): Promise<ContentsModel> {
    return request("GET", `api/contents/${encodePath(path)}?type=notebook&content=1`);
  },
  // `lastModified`: the time of the copy this save is based on; the server refuses (409) when the
  // file changed after it. Without it the file is overwritten.
  saveNotebook(path: string, notebook: Notebook, lastModified?: string): Promise<ContentsModel> {
    const model: Record<string, unknown> = { type: "notebook", format: "json", content: notebook };
    if (lastModified) {
      model.last_modified = lastModified;
    }
    return request("PUT", `api/contents/${encodePath(path)}`, model);
  },
  saveFile(path: string, content: string, format: "text" | "base64"): Promise<ContentsModel> {
    return request("PUT", `api/contents/${encodePath(path)}`, { type: "file", format, content });
  },
  newFolder(path: string): Promise<ContentsModel> {
    return request("PUT", `api/contents/${encodePath(path)}`, { type: "directory" });
  },
  rename(path: string, newPath: string): Promise<ContentsModel> {
    return request("PATCH", `api/contents/${encodePath(path)}`, { path: newPath });
  },
  remove(path: string): Promise<void> {
    return request("DELETE", `api/contents/${encodePath(path)}`);
  },
};

export interface KernelModel {
  id: string;
  name: string;
  execution_state?: string;
}

export interface SessionModel {
  id: string;
  path: string;
  kernel: KernelModel;
}

export const sessions = {
  list(): Promise<SessionModel[]> {
    return request("GET", "api/sessions");
  },
  create(path: string, kernelName: string): Promise<SessionModel> {
    return request("POST", "api/sessions", { path, name: path, type: "notebook", kernel: { name: kernelName } });
  },
};

export const kernels = {
  interrupt(id: string): Promise<void> {
    return request("POST", `api/kernels/${id}/interrupt`);
  },
  restart(id: string): Promise<KernelModel> {
    return request("POST", `api/kernels/${id}/restart`);
  },
};

export function channelsUrl(kernelId: string, sessionId: string): string {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${window.location.host}${baseUrl}api/kernels/${kernelId}/channels?session_id=${sessionId}`;
}
