// What every tsmig subcommand gets: where to write, and the exit status it sets.
// Exit status: 0 success, 1 errors in the input, 2 usage or I/O errors.
export interface CliIO {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

export const EXIT_OK = 0;
export const EXIT_INPUT_ERRORS = 1;
export const EXIT_USAGE = 2;

export interface CliContext {
  readonly io: CliIO;
  /** Set by the command's action; main() returns it. */
  exitCode: number;
}

export const processIO: CliIO = {
  stdout: (t) => void process.stdout.write(t),
  stderr: (t) => void process.stderr.write(t),
};
