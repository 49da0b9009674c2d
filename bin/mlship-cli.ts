/** The `mlship` command line's entry: runs the program (cli/program.ts) and prints a failure as one line. */
import { ApiCallError } from '../cli/api';
import { mlshipProgram } from '../cli/program';

mlshipProgram()
  .parseAsync(process.argv)
  .catch((e: unknown) => {
    // Expected failures read as one line; a stack trace would only hide the message.
    const message = e instanceof ApiCallError || e instanceof Error ? e.message : String(e);
    process.stderr.write(`mlship: ${message}\n`);
    process.exitCode = 1;
  });
