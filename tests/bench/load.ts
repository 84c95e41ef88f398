// autocannon in a child process: the load generator then neither shares the event loop of the
// servers under test nor counts in their process' CPU time, which the benchmarks report per request.
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";

/** autocannon's options that survive the trip to the child (no callbacks). */
export type LoadOptions = Pick<
  autocannon.Options,
  "url" | "method" | "headers" | "body" | "connections" | "duration" | "expectBody"
>;

export function load(options: LoadOptions): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    // Same Node flags as this process (tsx's loader), so the child runs this very file.
    const child = fork(fileURLToPath(import.meta.url), [], { env: { ...process.env, CIVITAS_LOAD_CHILD: "1" } });
    let result: autocannon.Result | undefined;
    child.once("message", (message) => {
      result = message as autocannon.Result;
    });
    child.once("error", reject);
    child.once("exit", (code) => (result ? resolve(result) : reject(new Error(`the load generator exited with ${code}`))));
    child.send(options);
  });
}

if (process.env.CIVITAS_LOAD_CHILD === "1" && process.send) {
  process.once("message", (options) => {
    void autocannon(options as LoadOptions).then((result) => process.send!(result, () => process.exit(0)));
  });
}
