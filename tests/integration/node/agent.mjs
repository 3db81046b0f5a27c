// An MCP host built on the official TypeScript SDK (@modelcontextprotocol/sdk), given only a wiki's MCP URL.
// Driven by tests/integration/test_ts_sdk.py over stdin/stdout, one JSON object per line:
//   out {"event":"authorize","url":…}      the SDK wants the person to consent; in {"code":…,"state":…}
//   out {"event":"result","step":…,…}      what a step did
//   out {"event":"tokens",…}               what the SDK holds (test-only: secrets are the test's own)
//   in  {"step":"…", …}                    what to do next: connect | call | tokens | quit
// *.localhost and localhost resolve to 127.0.0.1 (undici's connect lookup), as a browser resolves them.
import { createInterface } from "node:readline";
import { Agent, fetch as undiciFetch } from "undici";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";

const [mcpUrl, redirectUrl] = process.argv.slice(2);
const dispatcher = new Agent({
  connect: {
    lookup: (_host, _opts, cb) => cb(null, [{ address: "127.0.0.1", family: 4 }]),
  },
});
const fetchFn = (url, init = {}) => undiciFetch(url, { ...init, dispatcher });

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const say = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const next = async () => JSON.parse((await lines.next()).value);

const store = { client: undefined, tokens: undefined, verifier: undefined };
let authorizations = 0;
const provider = {
  get redirectUrl() { return redirectUrl; },
  get clientMetadata() {
    // what Claude Code and MCP Inspector register: a public client that refreshes
    return {
      client_name: "TypeScript SDK host",
      redirect_uris: [redirectUrl],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  },
  clientInformation: () => store.client,
  saveClientInformation: (info) => { store.client = info; },
  tokens: () => store.tokens,
  saveTokens: (tokens) => { store.tokens = tokens; },
  saveCodeVerifier: (v) => { store.verifier = v; },
  codeVerifier: () => store.verifier,
  redirectToAuthorization: async (url) => {
    authorizations += 1;
    say({ event: "authorize", url: url.toString() });
    const answer = await next();
    provider.pendingCode = answer.code;
  },
};

let client;
let transport;
async function connect() {
  for (let attempt = 0; attempt < 3; attempt += 1) {
    transport = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider, fetch: fetchFn });
    client = new Client({ name: "ts-sdk-host", version: "1.0.0" });
    try {
      await client.connect(transport);
      return;
    } catch (err) {
      if (!(err instanceof UnauthorizedError) || !provider.pendingCode) throw err;
      const code = provider.pendingCode;
      provider.pendingCode = undefined;
      await transport.finishAuth(code);
    }
  }
  throw new Error("could not connect after authorizing");
}

async function call(name, args) {
  // A 403 insufficient_scope makes the SDK step up (a new consent); count it as the test must.
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      return await client.callTool({ name, arguments: args });
    } catch (err) {
      if (!(err instanceof UnauthorizedError) || !provider.pendingCode) throw err;
      const code = provider.pendingCode;
      provider.pendingCode = undefined;
      await transport.finishAuth(code);
      await connect();
    }
  }
  throw new Error(`${name} still unauthorized`);
}

try {
  for (;;) {
    const order = await next();
    if (order.step === "quit") break;
    if (order.step === "connect") {
      await connect();
      const tools = await client.listTools();
      say({ event: "result", step: "connect", tools: tools.tools.map((t) => t.name), authorizations });
    } else if (order.step === "call") {
      const result = await call(order.tool, order.arguments ?? {});
      say({
        event: "result", step: "call", tool: order.tool, isError: Boolean(result.isError),
        structured: result.structuredContent ?? null,
        text: result.content?.[0]?.text ?? null, authorizations,
      });
    } else if (order.step === "tokens") {
      say({ event: "tokens", client: store.client, tokens: store.tokens, authorizations });
    }
  }
} catch (err) {
  say({ event: "error", message: String(err?.stack ?? err) });
  process.exitCode = 1;
} finally {
  await transport?.close?.();
  process.exit();
}
