// A kernel's channels over the server's WebSocket (Jupyter's JSON protocol): execute requests,
// their output, input requests, and the kernel's state. A dropped connection is reopened with
// the same session id, and the server replays what was sent meanwhile.
import { channelsUrl } from "./api";

export type KernelState = "no kernel" | "starting" | "idle" | "busy" | "restarting" | "reconnecting" | "dead";

export interface Message {
  header: { msg_id: string; msg_type: string; session?: string; date?: string; username?: string; version?: string };
  parent_header: { msg_id?: string; msg_type?: string };
  metadata: Record<string, unknown>;
  content: Record<string, unknown>;
  channel: "shell" | "iopub" | "stdin" | "control";
  buffers?: unknown[];
}

export interface ExecuteHandlers {
  // The kernel began this request (its status went busy for it).
  started?(): void;
  output(message: Message): void;
  input(prompt: string, password: boolean, answer: (value: string) => void): void;
  // The execute_reply's content and the outputs are all in (the kernel went idle after it).
  done(reply: Record<string, unknown>): void;
}

interface Pending {
  handlers: ExecuteHandlers;
  started?: boolean;
  reply?: Record<string, unknown>;
  idle: boolean;
}

// crypto.randomUUID exists only in secure contexts; a server reached over plain http on a
// hostname is not one. getRandomValues works everywhere.
function uuid(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

export class KernelConnection {
  state: KernelState = "starting";
  private socket?: WebSocket;
  private readonly clientSession = uuid();
  private readonly pending = new Map<string, Pending>();
  private retry = 0;
  private closed = false;
  private readonly listeners = new Set<(state: KernelState) => void>();
  private readonly outbox: string[] = [];

  // `clientSession` names this page's connection: the server replays to it what it missed
  // while disconnected. Another tab on the same kernel has its own.
  constructor(readonly kernelId: string) {
    this.open();
  }

  onState(listener: (state: KernelState) => void): () => void {
    this.listeners.add(listener);
    listener(this.state);
    return () => this.listeners.delete(listener);
  }

  private setState(state: KernelState): void {
    if (state !== this.state) {
      this.state = state;
      for (const listener of this.listeners) {
        listener(state);
      }
    }
  }

  private open(): void {
    const socket = new WebSocket(channelsUrl(this.kernelId, this.clientSession));
    this.socket = socket;
    socket.onopen = () => {
      this.retry = 0;
      this.flush();
      this.send("shell", "kernel_info_request", {});
    };
    socket.onmessage = (event) => {
      if (typeof event.data === "string") {
        this.receive(JSON.parse(event.data) as Message);
      }
    };
    socket.onclose = () => {
      if (this.closed || this.socket !== socket) {
        return;
      }
      if (this.state !== "dead") {
        this.setState("reconnecting");
      }
      // 0.25 s, 0.5 s, 1 s … at most 5 s between tries.
      const delay = Math.min(5000, 250 * 2 ** this.retry++);
      window.setTimeout(() => !this.closed && this.open(), delay);
    };
  }

  private flush(): void {
    while (this.outbox.length > 0 && this.socket?.readyState === WebSocket.OPEN) {
      this.socket.send(this.outbox.shift()!);
    }
  }

  close(): void {
    this.closed = true;
    this.socket?.close();
  }

  private send(channel: Message["channel"], type: string, content: Record<string, unknown>, parent = {}): string {
    const id = uuid();
    const message: Message = {
      header: {
        msg_id: id,
        msg_type: type,
        session: this.clientSession,
        date: new Date().toISOString(),
        username: "tejun-ui",
        version: "5.3",
      },
      parent_header: parent,
      metadata: {},
      content,
      channel,
    };
    // While the connection is down the message waits, and goes out first when it is back: the
    // kernel must not miss a step the operator ran.
    this.outbox.push(JSON.stringify(message));
    this.flush();
    return id;
  }

  // `silent`: no output at all (the kernel publishes nothing); `storeHistory: false`: output,
  // but no execution count and no place in the kernel's history.
  execute(code: string, handlers: ExecuteHandlers, options: { silent?: boolean; storeHistory?: boolean } = {}): string {
    const id = this.send("shell", "execute_request", {
      code,
      silent: options.silent ?? false,
      store_history: !options.silent && (options.storeHistory ?? true),
      user_expressions: {},
      allow_stdin: true,
      stop_on_error: true,
    });
    this.pending.set(id, { handlers, idle: false });
    return id;
  }

  private finish(id: string, entry: Pending): void {
    if (entry.reply && entry.idle) {
      this.pending.delete(id);
      entry.handlers.done(entry.reply);
    }
  }

  // Every step waiting for its reply ends: the kernel died or restarted under it.
  abandonAll(reason: string): void {
    for (const [id, entry] of this.pending) {
      this.pending.delete(id);
      entry.handlers.done({ status: "abort", reason });
    }
  }

  private receive(message: Message): void {
    const parent = message.parent_header?.msg_id ?? "";
    const entry = this.pending.get(parent);
    const type = message.header.msg_type;
    if (message.channel === "iopub" && type === "status") {
      const state = String(message.content.execution_state ?? "");
      if (state === "idle" || state === "busy" || state === "starting") {
        this.setState(state);
      } else if (state === "restarting" || state === "autorestarting") {
        this.setState("restarting");
        this.abandonAll("the kernel restarted");
      } else if (state === "dead") {
        this.setState("dead");
        this.abandonAll("the kernel died");
      }
      if (entry && state === "busy" && !entry.started) {
        entry.started = true;
        entry.handlers.started?.();
      }
      if (entry && state === "idle") {
        entry.idle = true;
        this.finish(parent, entry);
      }
      return;
    }
    if (message.channel === "shell" && type === "kernel_info_reply" && this.state !== "busy") {
      this.setState("idle");
      return;
    }
    if (!entry) {
      return;
    }
    if (message.channel === "shell" && type === "execute_reply") {
      entry.reply = message.content;
      this.finish(parent, entry);
    } else if (message.channel === "stdin" && type === "input_request") {
      const header = message.header;
      entry.handlers.input(String(message.content.prompt ?? ""), Boolean(message.content.password), (value) =>
        this.send("stdin", "input_reply", { value }, header),
      );
    } else if (message.channel === "iopub") {
      entry.handlers.output(message);
    }
  }
}
