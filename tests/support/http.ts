// Serving an Express app on an ephemeral port, and raw requests to it with node:http: fetch
// cannot set Host, and would refuse the hostile headers these tests send.
import { once } from "node:events";
import http, { type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Express } from "express";

export type Served = { port: number; close(): Promise<void> };

export async function serve(app: Express): Promise<Served> {
  const server: Server = app.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

export type RawRequest = {
  method?: string;
  /** Sent as is, so it can be "*" or an absolute URL. */
  path?: string;
  /** Host is whatever this says; without one, no Host header is sent at all. */
  headers?: Record<string, string>;
};

export type RawResponse = { status: number; headers: IncomingHttpHeaders; body: string };

export function rawRequest(port: number, { method = "GET", path = "/", headers = {} }: RawRequest = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: "127.0.0.1", port, method, path, headers, setHost: false, agent: false },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString("utf8") }),
        );
        response.on("error", reject);
      },
    );
    request.on("error", reject);
    request.end();
  });
}
