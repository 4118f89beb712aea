/** The configuration's error type, in a module of its own so that callers can catch it without loading the schema. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}
