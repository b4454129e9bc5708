/**
 * Every file of a new plugin folder (`neko-plugin init`), by name: the manifest, the code and its test
 * (code-templates.ts), a tsconfig.json that type-checks against the installed framework with no install of its own
 * (sdk-location.ts), a README and a .gitignore. Pure: nothing here touches the disk.
 */
import { codeTemplates, type PluginKind } from "./code-templates.ts";

export interface ScaffoldRequest {
  id: string;
  type: PluginKind;
  /** Display name; default: the id. */
  name?: string;
  /** An extension's host plugin and entry prefix. */
  hostPluginId: string;
  prefix: string;
  /** From `pluginCompilerOptions()`. */
  compilerOptions: Record<string, unknown>;
}

export interface Scaffold {
  files: Record<string, string>;
  /** What a caller of the new plugin names: `<plugin>:<entry>`, and an example call and its answer. */
  callTarget: { pluginId: string; entryId: string; args: Record<string, unknown>; value: unknown };
}

/** `my-tool_x` → `MyToolX`, suffixed with the paradigm (`MyToolXPlugin`) unless it ends with it already. */
export function className(id: string, type: PluginKind): string {
  const words = id.split(/[-_]+/).filter((w) => w !== "");
  let name = words.map((w) => w[0]?.toUpperCase() + w.slice(1)).join("");
  if (!/^[A-Za-z]/.test(name)) name = `P${name}`;
  const suffix = type[0]?.toUpperCase() + type.slice(1);
  return name.endsWith(suffix) ? name : name + suffix;
}

export function pluginScaffold(request: ScaffoldRequest): Scaffold {
  const template = codeTemplates[request.type];
  const input = {
    id: request.id,
    className: className(request.id, request.type),
    hostPluginId: request.hostPluginId,
    prefix: request.prefix,
  };
  const callTarget =
    request.type === "extension"
      ? { pluginId: request.hostPluginId, entryId: request.prefix + template.entryId }
      : { pluginId: request.id, entryId: template.entryId };
  const scaffold: Scaffold = {
    callTarget: { ...callTarget, args: template.sampleArgs, value: template.sampleValue },
    files: {},
  };
  scaffold.files = {
    "plugin.toml": manifest(request, input.className) + template.manifestTables(input),
    "index.ts": template.index(input),
    "index.test.ts": template.test(input),
    "tsconfig.json": `${JSON.stringify(
      { compilerOptions: request.compilerOptions, include: ["**/*.ts"], exclude: ["data", "node_modules"] },
      null,
      2,
    )}\n`,
    "README.md": readme(request, scaffold.callTarget),
    ".gitignore": "# Runtime data the host writes (the store, frozen state): never part of the code.\ndata/\n",
  };
  return scaffold;
}

function manifest(request: ScaffoldRequest, className: string): string {
  const lines = [
    "[plugin]",
    `id = ${JSON.stringify(request.id)}`,
    `name = ${JSON.stringify(request.name ?? request.id)}`,
    `description = ${JSON.stringify(DESCRIPTIONS[request.type])}`,
    `version = "0.1.0"`,
    ...(request.type === "plugin" ? [] : [`type = "${request.type}"`]),
    `entry = "index.ts:${className}"`,
  ];
  if (request.type === "extension") {
    lines.push(
      "",
      "# The plugin this extends: its entries appear there as <prefix><entry>.",
      "[plugin.host]",
      `plugin_id = ${JSON.stringify(request.hostPluginId)}`,
      `prefix = ${JSON.stringify(request.prefix)}`,
    );
  }
  lines.push("", "[plugin.sdk]", `recommended = "^0.1.0"`, `supported = ">=0.1.0 <0.2.0"`);
  return `${lines.join("\n")}\n`;
}

const DESCRIPTIONS: Record<PluginKind, string> = {
  plugin: "A plugin made with neko-plugin init",
  extension: "An extension made with neko-plugin init",
  adapter: "An adapter made with neko-plugin init",
};

const PARADIGM_DOC: Record<PluginKind, string> = {
  plugin: "getting-started.md",
  extension: "extensions.md",
  adapter: "adapters.md",
};

function readme(request: ScaffoldRequest, target: Scaffold["callTarget"]): string {
  const name = request.name ?? request.id;
  const args = JSON.stringify(target.args);
  const what =
    request.type === "extension"
      ? `An extension of \`${request.hostPluginId}\`: it runs inside that plugin's process, and its entries appear there ` +
        `with the prefix \`${request.prefix}\`.`
      : request.type === "adapter"
        ? "An adapter: it turns requests of an outside protocol into plugin calls through the gateway pipeline."
        : "A plugin: its entries run in a process of its own, called through the host.";
  return `# ${name}

${what} Made with \`neko-plugin init\`; the framework's docs are in its \`docs/\` folder (${PARADIGM_DOC[request.type]}).

| File | What it is |
| --- | --- |
| \`plugin.toml\` | the manifest: id, entry class, SDK range${request.type === "plugin" ? ", the plugin's own configuration" : ""} |
| \`index.ts\` | the code: one entry whose arguments are a Zod \`params\` schema |
| \`index.test.ts\` | its test, through \`@neko/plugin-sdk/testing\` |
| \`tsconfig.json\` | type-checks against the installed framework (no \`npm install\` here) |

## Test

\`\`\`sh
neko-plugin test .
\`\`\`

runs \`index.test.ts\` with \`node:test\`: \`startTestPlugin\` starts the plugin in a real process under a throw-away host
and calls its entries (docs/testing.md). \`neko-plugin check .\` type-checks it with this folder's tsconfig.json (so does
your editor).

## Check, develop, serve, call

\`\`\`sh
neko-plugin check .                                   # the manifest, the entry module, its decorators and schemas
neko-plugin dev .                                     # serve it, reloaded on every save (no call fails)
neko-plugin serve --plugins-dir ..                    # a server with every plugin of the parent folder
neko-plugin call ${target.pluginId}:${target.entryId} --args '${args}'
\`\`\`
`;
}
