/**
 * Structured JSON logging: one object per line on stdout, with a component
 * and whatever context a child logger carries (request id, deployment id…).
 * Owns redaction: credentials never reach a log line, whoever passes them.
 * Under systemd (JOURNAL_STREAM set) each line starts with its syslog
 * priority, `<3>` for errors, so `journalctl -p err` finds them.
 *
 * Writes to stdout are batched: debug and info lines gather for at most
 * FLUSH_MS (or FLUSH_LINES lines) and go out in one write, as a request
 * log line per request would otherwise cost a synchronous write each; a
 * warning or an error goes out at once, with everything before it, and
 * what is left is written when the process exits.
 */

export type Level = "debug" | "info" | "warn" | "error";
export type Fields = Record<string, unknown>;

const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  /**
   * Whether lines of `level` are written at all: a caller logging per line of a program's
   * output asks once, instead of building a fields object per line that is then dropped.
   */
  enabled(level: Level): boolean;
  /**
   * Writes the lines gathered so far now instead of after FLUSH_MS: for a line that someone
   * waits for, like "despacito started" (supervisors, scripts and the bench wait for it).
   */
  flush(): void;
  /** A logger whose lines also carry `fields` (e.g. a component or deployment context). */
  child(fields: Fields): Logger;
}

export interface LoggerOptions {
  level?: Level;
  /** Where lines go; defaults to stdout. Tests pass an array's push. */
  sink?: (line: string) => void;
  fields?: Fields;
  now?: () => Date;
  /** Prefix lines with `<priority>` for journald (see journaldFromEnv). */
  journald?: boolean;
}

// syslog priorities (sd-daemon(3)): the journal strips the prefix and files the line under it.
const PRIORITY: Record<Level, number> = { debug: 7, info: 6, warn: 4, error: 3 };

/** systemd sets JOURNAL_STREAM when stdout or stderr goes to the journal. */
export function journaldFromEnv(env: { get(name: string): string | undefined }): boolean {
  return !!env.get("JOURNAL_STREAM");
}

// Keys whose values are credentials, whatever they are nested in.
const SECRET_KEY =
  /^(authorization|cookie|set-cookie|password|passwd|secret|token|pat|session|client_secret|webhook_secret|private_key)$|(_secret|_password|_token|_key)$/i;
// Field names repeat (every request line has the same few): each is tested once.
const secretKeys = new Map<string, boolean>();
function isSecretKey(k: string): boolean {
  let secret = secretKeys.get(k);
  if (secret === undefined) {
    secret = SECRET_KEY.test(k);
    // Bounded: keys of logged objects could come from anywhere.
    if (secretKeys.size < 1_000) secretKeys.set(k, secret);
  }
  return secret;
}
// Credentials that slip into free text (error messages, URLs).
const SECRET_TEXT: [RegExp, string][] = [
  [/\b(Bearer|token|Basic)\s+[A-Za-z0-9._~+\/=-]{8,}/gi, "$1 [redacted]"],
  [/(\/\/[^:\/\s@]+:)[^@\s\/]+@/g, "$1[redacted]@"],
];

// What SECRET_TEXT needs to match at all: most strings (paths, ids, messages) are let through
// by this one test instead of running every replacement.
const MAYBE_SECRET_TEXT = /bearer|token|basic|@/i;

export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === "string") {
    if (!MAYBE_SECRET_TEXT.test(value)) return value;
    return SECRET_TEXT.reduce((s, [re, rep]) => s.replace(re, rep), value);
  }
  if (depth > 6 || value === null || typeof value !== "object") return value;
  if (value instanceof Error) {
    return {
      name: value.name,
      message: redact(value.message),
      cause: redact(value.cause, depth + 1),
    };
  }
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = isSecretKey(k) && v !== null && v !== undefined && typeof v !== "boolean"
      ? "[redacted]"
      : redact(v, depth + 1);
  }
  return out;
}

const FLUSH_MS = 5;
const FLUSH_LINES = 256;

type Sink = ((line: string, urgent: boolean) => void) & { flush?: () => void };

/** Stdout, batched; one per root logger, shared by its children so lines keep their order. */
function stdoutSink(): Sink {
  const encoder = new TextEncoder();
  let gathered: string[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (gathered.length === 0) return;
    const bytes = encoder.encode(gathered.join("\n") + "\n");
    gathered = [];
    // A pipe may take part of a large write.
    for (let off = 0; off < bytes.length;) off += Deno.stdout.writeSync(bytes.subarray(off));
  };
  // At exit, and before an uncaught error ends the process (listening does not stop that).
  for (const e of ["unload", "error", "unhandledrejection"]) globalThis.addEventListener(e, flush);
  const sink = (line: string, urgent: boolean) => {
    gathered.push(line);
    if (urgent || gathered.length >= FLUSH_LINES) return flush();
    if (timer === undefined) {
      const t = setTimeout(flush, FLUSH_MS);
      // Never what keeps the process alive; the unload listener writes the rest.
      Deno.unrefTimer(t);
      timer = t;
    }
  };
  return Object.assign(sink, { flush });
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const given = options.sink;
  const sink: Sink = given ? (line) => given(line) : stdoutSink();
  return loggerOn(sink, options, options.fields ?? {});
}

function loggerOn(sink: Sink, options: LoggerOptions, base: Fields): Logger {
  const min = RANK[options.level ?? "info"];
  const now = options.now ?? (() => new Date());
  const write = (level: Level, msg: string, fields?: Fields) => {
    if (RANK[level] < min) return;
    const record = redact({ time: now().toISOString(), level, msg: msg, ...base, ...fields });
    sink(
      (options.journald ? `<${PRIORITY[level]}>` : "") + JSON.stringify(record),
      RANK[level] >= RANK.warn,
    );
  };
  return {
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
    enabled: (level) => RANK[level] >= min,
    flush: () => sink.flush?.(),
    child: (fields) => loggerOn(sink, options, { ...base, ...fields }),
  };
}

/** A logger that drops everything; for unit tests that do not look at logs. */
export const silentLogger: Logger = createLogger({ sink: () => {} });
