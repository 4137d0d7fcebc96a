/**
 * The room controller: one object owns a room's life (open, close, with a deadline), hands its
 * events to every client through the event hub, and runs clients' commands one at a time. The
 * clients: the terminal chat or the pipe (the process's owner: when it ends, the room ends),
 * the transcript (--log), later a JSON command interface and a browser (leaving ends only
 * themselves). A client does not need to know the others.
 */
import type { EventSink } from "../session/event-sink.ts";
import type { RoomSession } from "../session/room-session.ts";
import { CLOSE_DEADLINE_MS, withDeadline } from "../ui/deadline.ts";
import {
  type CommandResult,
  checkCommand,
  type MemberInfo,
  type RoomCommand,
  runCommand,
} from "./commands.ts";
import {
  EventHub,
  type EventHubOptions,
  type EventListener,
  type Subscription,
} from "./event-hub.ts";
import { RoomError } from "./room-error.ts";

export interface RoomOptions extends EventHubOptions {
  /** How long close() waits for the session to say BYE and close its sockets (ms). */
  closeDeadlineMs?: number;
}

export interface ClientOptions {
  /** How warnings name it: "the terminal", "stdout", "the transcript". */
  name: string;
  /** The process's own interface (the chat or the pipe): when it leaves, the room closes. */
  owner?: boolean;
  /** Its events: every one from the room's first on (backlog first), then live. */
  onEvent?: EventListener;
  /** An output that can block: it acknowledges what it wrote out (RoomClient.consumed). */
  paced?: boolean;
  /** Its onEvent threw: it gets no more events (the others are told). */
  onFailure?: (err: unknown) => void;
}

export interface RoomClient {
  readonly name: string;
  readonly owner: boolean;
  /** Its events (absent when it attached without onEvent). */
  readonly subscription: Subscription | undefined;
  /** Detached (itself, or the room closed). */
  readonly detached: boolean;
  /** Paced: every event up to `position` is written out. */
  consumed(position: number): void;
  /** A warning of its own (e.g. the transcript cannot write) to every other client. */
  warn(text: string): void;
  /** Leaves: no more events. An owner's leaving closes the room (resolves once closed). */
  detach(): Promise<void>;
}

type State = "new" | "opening" | "open" | "closed";

class Client implements RoomClient {
  subscription: Subscription | undefined;
  detached = false;

  constructor(
    private readonly room: Room,
    readonly name: string,
    readonly owner: boolean,
  ) {}

  consumed(position: number): void {
    this.subscription?.consumed(position);
  }

  warn(text: string): void {
    this.room.hub.warn(text, { except: this.subscription });
  }

  detach(): Promise<void> {
    return this.room.detach(this);
  }

  /** No more events. */
  end(): void {
    this.detached = true;
    this.subscription?.close();
  }
}

const closedError = () => new RoomError("closed", "the room is closed");

export class Room {
  /** Resolves once the room has closed (its session closed, or the deadline passed). */
  readonly closed: Promise<void>;
  private resolveClosed!: () => void;
  private status: State = "new";
  private opening: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private readonly clients = new Set<Client>();
  /** The command queue: the tail, and the commands not yet settled (rejected on close). */
  private queue: Promise<void> = Promise.resolve();
  private readonly unsettled = new Set<(err: RoomError) => void>();
  private readonly closeDeadlineMs: number;

  /**
   * A room over the session `makeSession` builds. The hub exists first: the session takes it
   * as its event sink (SessionOptions.events), so nothing it emits is lost.
   */
  static create(makeSession: (events: EventSink) => RoomSession, opts: RoomOptions = {}): Room {
    const hub = new EventHub(opts);
    return new Room(hub, makeSession(hub), opts);
  }

  private constructor(
    readonly hub: EventHub,
    private readonly session: RoomSession,
    opts: RoomOptions,
  ) {
    this.closeDeadlineMs = opts.closeDeadlineMs ?? CLOSE_DEADLINE_MS;
    this.closed = new Promise<void>((resolve) => {
      this.resolveClosed = resolve;
    });
  }

  /** "new", "opening", "open" or "closed" (from the moment close() is called). */
  get state(): State {
    return this.status;
  }

  // ---- what any client may read at any time (no command needed) ----

  get nick(): string {
    return this.session.nick;
  }

  get encrypted(): boolean {
    return this.session.encrypted;
  }

  /** Members present now, ourselves included (`self: true`). */
  members(): MemberInfo[] {
    return this.session.members();
  }

  // ---- life ----

  /** Starts the session (HELLO, timers, history). Attach the transcript before this. */
  open(): Promise<void> {
    if (this.status === "closed") return Promise.reject(closedError());
    if (!this.opening) {
      this.status = "opening";
      this.opening = this.session.start().then(() => {
        if (this.status === "opening") this.status = "open";
      });
    }
    return this.opening;
  }

  /**
   * Closes the room: commands waiting (or running) fail with "closed", the session says BYE
   * within the deadline, then every client is detached and `closed` resolves. Idempotent;
   * never rejects.
   */
  close(): Promise<void> {
    if (!this.closing) {
      this.status = "closed";
      for (const reject of this.unsettled) reject(closedError());
      this.unsettled.clear();
      let bye: Promise<unknown>;
      try {
        bye = this.session.close();
      } catch (err) {
        bye = Promise.reject(err);
      }
      this.closing = withDeadline(bye, this.closeDeadlineMs).then(() => {
        for (const c of this.clients) c.end();
        this.clients.clear();
        this.resolveClosed();
      });
    }
    return this.closing;
  }

  // ---- clients ----

  attach(opts: ClientOptions): RoomClient {
    if (this.status === "closed") throw closedError();
    const client = new Client(this, opts.name, opts.owner === true);
    if (opts.onEvent) {
      client.subscription = this.hub.subscribe(opts.onEvent, {
        name: opts.name,
        paced: opts.paced,
        onFailure: opts.onFailure,
      });
    }
    this.clients.add(client);
    return client;
  }

  /** `client` leaves; if it is an owner, the room closes (resolves once it has). */
  detach(client: RoomClient): Promise<void> {
    const c = client as Client;
    this.clients.delete(c);
    c.end();
    return c.owner ? this.close() : Promise.resolve();
  }

  /** Clients attached now. */
  get attached(): readonly RoomClient[] {
    return [...this.clients];
  }

  // ---- commands ----

  /**
   * Runs one command after those before it (one at a time, in order) and resolves with its
   * result. Rejects with a RoomError: "unknown-verb" or "bad-argument" at once, "closed" when
   * the room is or becomes closed before the command finished, "refused" or "failed" from the
   * session.
   */
  run<C extends RoomCommand>(command: C): Promise<CommandResult<C>> {
    if (this.status === "closed") return Promise.reject(closedError());
    let checked: RoomCommand;
    try {
      checked = checkCommand(command);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<CommandResult<C>>((resolve, reject) => {
      this.unsettled.add(reject);
      this.queue = this.queue.then(async () => {
        if (!this.unsettled.has(reject)) return; // the room closed while it waited
        try {
          resolve((await runCommand(this.session, checked)) as CommandResult<C>);
        } catch (err) {
          reject(err);
        } finally {
          this.unsettled.delete(reject);
        }
      });
    });
  }
}
