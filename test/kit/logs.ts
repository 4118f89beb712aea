/** Loggers for protocol servers under test: one that collects, one that drops. */
export interface LogEntry {
  level: string;
  o: object;
  msg?: string;
}

export interface TestLogger {
  info(o: object, msg?: string): void;
  warn(o: object, msg?: string): void;
  error(o: object, msg?: string): void;
  debug(o: object, msg?: string): void;
}

/** A logger that records info/warn/error lines into `logs` (debug is dropped). */
export function captureLogger(): { logs: LogEntry[]; logger: TestLogger } {
  const logs: LogEntry[] = [];
  return {
    logs,
    logger: {
      info: (o, msg) => logs.push({ level: "info", o, msg }),
      warn: (o, msg) => logs.push({ level: "warn", o, msg }),
      error: (o, msg) => logs.push({ level: "error", o, msg }),
      debug: () => {},
    },
  };
}

const noop = () => {};
export const silentLogger: TestLogger = { info: noop, warn: noop, error: noop, debug: noop };
