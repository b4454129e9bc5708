import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { ownersOf, requiredIds } from "../../src/manifest/plugin-dependencies.ts";
import { type DiscoveredPlugin, discoverPlugins } from "../../src/manifest/plugin-discovery.ts";
import { inDependencyOrder } from "../../src/supervisor/dependency-order.ts";

const tempDirs: string[] = [];
after(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** Discovers one root holding a plugin per `[id, extra toml]`, each with a module. */
async function discover(plugins: Array<[id: string, extra?: string]>): Promise<Map<string, DiscoveredPlugin>> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "neko-deps-"));
  tempDirs.push(root);
  for (const [id, extra = ""] of plugins) {
    fs.mkdirSync(path.join(root, id));
    fs.writeFileSync(path.join(root, id, "plugin.toml"), `[plugin]\nid = "${id}"\nentry = "index.ts:A"\n${extra}`);
    fs.writeFileSync(path.join(root, id, "index.ts"), "export class A {}\n");
  }
  const found = await discoverPlugins({ roots: [root], sdkVersion: "0.1.0" });
  return new Map(found.map((d) => [d.id, d]));
}

const dependency = (id: string, more = "") => `[[plugin.dependency]]\nid = "${id}"\n${more}\n`;
const version = (v: string) => `version = "${v}"\n`;

describe("[[plugin.dependency]] checks", () => {
  test("a met dependency, with or without a version range in either form, leaves both plugins ok", async () => {
    const found = await discover([
      ["base", version("1.4.0")],
      ["a", dependency("base")],
      ["b", dependency("base", 'version = "^1.2"')],
      ["c", dependency("base", 'version = ">=1.0.0,<2.0.0"')],
    ]);
    assert.deepEqual(
      [...found.values()].map((d) => [d.id, d.status, d.problems]),
      [
        ["a", "ok", []],
        ["b", "ok", []],
        ["base", "ok", []],
        ["c", "ok", []],
      ],
    );
  });

  test("each unmet dependency refuses the plugin with a reason naming the other plugin", async () => {
    const found = await discover([
      ["base", `${version("1.4.0")}`],
      ["off", "[plugin_runtime]\nenabled = false\n"],
      ["broken", 'version = "not-semver"\n'],
      ["missing", dependency("nowhere")],
      ["too_new", dependency("base", 'version = ">=2"')],
      ["disabled", dependency("off")],
      ["on_broken", dependency("broken")],
      ["self", dependency("self")],
    ]);
    const problems = (id: string) => found.get(id)?.problems;
    assert.equal(found.get("base")?.status, "ok");
    assert.deepEqual(problems("missing"), [
      "plugin.toml: [[plugin.dependency]]: needs plugin 'nowhere', which is not installed",
    ]);
    assert.deepEqual(problems("too_new"), [
      "plugin.toml: [[plugin.dependency]]: needs plugin 'base' >=2, but version 1.4.0 is installed",
    ]);
    assert.deepEqual(problems("disabled"), [
      "plugin.toml: [[plugin.dependency]]: needs plugin 'off', which is disabled ([plugin_runtime].enabled = false)",
    ]);
    assert.match(problems("on_broken")?.[0] ?? "", /needs plugin 'broken', which is refused \(.*version.*\)/);
    assert.deepEqual(problems("self"), [
      "plugin.toml: [[plugin.dependency]]: a plugin cannot depend on itself ('self')",
    ]);
    for (const id of ["missing", "too_new", "disabled", "on_broken", "self"])
      assert.equal(found.get(id)?.status, "refused");
  });

  test("a refusal travels down a chain of dependents, however long", async () => {
    const found = await discover([
      ["a", dependency("b")],
      ["b", dependency("c")],
      ["c", dependency("gone")],
      ["d", ""],
    ]);
    assert.deepEqual(
      ["a", "b", "c", "d"].map((id) => found.get(id)?.status),
      ["refused", "refused", "refused", "ok"],
    );
    assert.match(found.get("a")?.problems[0] ?? "", /needs plugin 'b', which is refused \(.*needs plugin 'c'.*'gone'/);
  });

  test("conflicts = true refuses the plugin while the other is installed and enabled (and inside the range)", async () => {
    const found = await discover([
      ["old_api", version("1.0.0")],
      ["rival", dependency("old_api", "conflicts = true")],
      ["rival_of_v2", dependency("old_api", 'conflicts = true\nversion = ">=2"')],
      ["rival_of_absent", dependency("nobody", "conflicts = true")],
      ["off", "[plugin_runtime]\nenabled = false\n"],
      ["rival_of_off", dependency("off", "conflicts = true")],
    ]);
    assert.deepEqual(found.get("rival")?.problems, [
      "plugin.toml: [[plugin.dependency]]: conflicts with plugin 'old_api' 1.0.0, which is installed and enabled",
    ]);
    for (const id of ["old_api", "rival_of_v2", "rival_of_absent", "rival_of_off"]) {
      assert.equal(found.get(id)?.status, "ok", id);
    }
  });

  test("two plugins that conflict with each other are both refused", async () => {
    const found = await discover([
      ["x", dependency("y", "conflicts = true")],
      ["y", dependency("x", "conflicts = true")],
    ]);
    assert.deepEqual([found.get("x")?.status, found.get("y")?.status], ["refused", "refused"]);
  });

  test("a conflict counts only against a plugin that would run: one refused for a missing dependency does not count", async () => {
    const found = await discover([
      ["x", dependency("y", "conflicts = true")],
      ["y", dependency("z_missing")],
    ]);
    assert.equal(found.get("y")?.status, "refused");
    assert.deepEqual([found.get("x")?.status, found.get("x")?.problems], ["ok", []]);
  });

  test("a folder whose manifest is broken does not claim its folder name over a manifest that declares the id", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "neko-deps-"));
    tempDirs.push(root);
    const write = (folder: string, toml: string) => {
      fs.mkdirSync(path.join(root, folder));
      fs.writeFileSync(path.join(root, folder, "plugin.toml"), toml);
      fs.writeFileSync(path.join(root, folder, "index.ts"), "export class A {}\n");
    };
    write("cache", "[plugin\nbroken");
    write("zcache", '[plugin]\nid = "cache"\nentry = "index.ts:A"\n');
    write("app", '[plugin]\nid = "app"\nentry = "index.ts:A"\n\n[[plugin.dependency]]\nid = "cache"\n');
    const found = await discoverPlugins({ roots: [root], sdkVersion: "0.1.0" });
    const owner = ownersOf(found).get("cache");
    assert.equal(owner?.dir, path.join(root, "zcache"));
    assert.equal(owner?.status, "ok");
    assert.equal(found.find((d) => d.id === "app")?.status, "ok");
  });

  test("a dependency cycle loads, with a warning on each plugin in it", async () => {
    const found = await discover([
      ["p", dependency("q")],
      ["q", dependency("p")],
    ]);
    assert.deepEqual([found.get("p")?.status, found.get("q")?.status], ["ok", "ok"]);
    assert.match(found.get("p")?.warnings.join("\n") ?? "", /dependency cycle p → q → p/);
    assert.match(found.get("q")?.warnings.join("\n") ?? "", /dependency cycle p → q → p/);
  });
});

describe("inDependencyOrder", () => {
  /** Runs steps that take `ms` each and records when each one started and ended. */
  async function run(graph: Record<string, string[]>, fail: string[] = []) {
    const log: string[] = [];
    const results = await inDependencyOrder(
      Object.keys(graph),
      (id) => graph[id] ?? [],
      async (id) => {
        log.push(`start ${id}`);
        await new Promise((r) => setTimeout(r, 5));
        log.push(`end ${id}`);
        if (fail.includes(id)) throw new Error(`${id} failed`);
        return id;
      },
    ).catch((error: Error) => error.message);
    return { log, results };
  }

  test("a step runs after its prerequisites have finished; independent steps overlap", async () => {
    const { log, results } = await run({ app: ["db", "cache"], db: [], cache: [] });
    assert.deepEqual(results, ["app", "db", "cache"]);
    assert.deepEqual(log, ["start db", "start cache", "end db", "end cache", "start app", "end app"]);
  });

  test("a chain runs in order, and a prerequisite outside the list is not waited for", async () => {
    const { log } = await run({ c: ["b"], b: ["a", "elsewhere"], a: [] });
    assert.deepEqual(log, ["start a", "end a", "start b", "end b", "start c", "end c"]);
  });

  test("a cycle is broken where it closes: each step runs exactly once", async () => {
    const { log } = await run({ p: ["q"], q: ["p"] });
    assert.deepEqual(log, ["start q", "end q", "start p", "end p"]);
  });

  test("a failed prerequisite does not hold its dependents back", async () => {
    const steps: string[] = [];
    const results = await inDependencyOrder(
      ["app", "db"],
      (id) => (id === "app" ? ["db"] : []),
      async (id) => {
        steps.push(id);
        if (id === "db") return "db down";
        return "app up";
      },
    );
    assert.deepEqual(steps, ["db", "app"]);
    assert.deepEqual(results, ["app up", "db down"]);
    const rejected = await run({ app: ["db"], db: [] }, ["db"]);
    assert.ok(rejected.log.includes("start app"), "app started though db's step threw");
  });
});

describe("[[plugin.dependency]]: the original's forms", () => {
  const timer = ["timer", `version = "1.3.0"\n[[plugin.entries]]\nid = "start"\n[[plugin.entries]]\nid = "stop"\n`] as [
    string,
    string,
  ];
  const raw = (body: string) => `[[plugin.dependency]]\n${body}\n`;

  test("by entry: the entry must be declared by the plugin; a plugin that declares none is checked at run time", async () => {
    const found = await discover([
      timer,
      ["bare", `version = "2.0.0"\n`],
      ["uses_start", raw(`entry = "timer:start"`)],
      ["uses_pause", raw(`entry = "timer:pause"`)],
      ["uses_bare", raw(`entry = "bare:anything"`)],
      ["uses_ghost", raw(`entry = "ghost:start"`)],
    ]);
    assert.deepEqual(found.get("uses_start")?.problems, []);
    assert.deepEqual(found.get("uses_start")?.warnings, []);
    assert.deepEqual(found.get("uses_pause")?.problems, [
      "plugin.toml: [[plugin.dependency]]: needs entry 'timer:pause', but it declares no entry 'pause' (only 'start', 'stop')",
    ]);
    assert.deepEqual(found.get("uses_ghost")?.problems, [
      "plugin.toml: [[plugin.dependency]]: needs entry 'ghost:start', which is not installed",
    ]);
    assert.equal(found.get("uses_bare")?.status, "ok");
    assert.deepEqual(found.get("uses_bare")?.warnings, [
      "plugin.toml: [[plugin.dependency]]: needs entry 'bare:anything': not checked before 'bare' runs (its manifest declares no [[plugin.entries]])",
    ]);
  });

  test("by custom_event: the plugin must be there; the event itself is checked at run time (a warning)", async () => {
    const found = await discover([
      timer,
      ["a", raw(`custom_event = "timer:tick:each_second"`)],
      ["b", raw(`custom_event = "nope:tick:x"`)],
    ]);
    assert.equal(found.get("a")?.status, "ok");
    assert.deepEqual(found.get("a")?.warnings, [
      "plugin.toml: [[plugin.dependency]]: needs custom event 'timer:tick:each_second': not checked before 'timer' runs (a manifest does not declare custom events)",
    ]);
    assert.deepEqual(found.get("b")?.problems, [
      "plugin.toml: [[plugin.dependency]]: needs custom event 'nope:tick:x', which is not installed",
    ]);
  });

  test("providers: any one fits; none fitting names each with its reason", async () => {
    const found = await discover([
      timer,
      ["off", `[plugin_runtime]\nenabled = false\n`],
      ["one_of", raw(`providers = ["ghost", "timer"]`)],
      ["none_of", raw(`providers = ["ghost", "off"]`)],
      ["with_entry", raw(`providers = ["off", "timer"]\nentry = "stop"`)],
      ["without_entry", raw(`providers = ["timer"]\nentry = "pause"`)],
      ["neither", raw(`providers = ["ghost", "timer"]\nentry = "pause"`)],
    ]);
    assert.deepEqual(found.get("one_of")?.problems, []);
    assert.deepEqual(found.get("with_entry")?.problems, []);
    assert.deepEqual(found.get("none_of")?.problems, [
      "plugin.toml: [[plugin.dependency]]: needs one of the providers 'ghost', 'off', and none fits: 'ghost' is not installed; 'off' is disabled ([plugin_runtime].enabled = false)",
    ]);
    assert.deepEqual(found.get("neither")?.problems, [
      "plugin.toml: [[plugin.dependency]]: needs one of the providers 'ghost', 'timer' with 'pause', and none fits: 'ghost' is not installed; 'timer' declares no entry 'pause' (only 'start', 'stop')",
    ]);
    assert.deepEqual(found.get("without_entry")?.problems, [
      "plugin.toml: [[plugin.dependency]]: needs entry 'timer:pause', but it declares no entry 'pause' (only 'start', 'stop')",
    ]);
  });

  test("providers: the warnings are those of the provider that fits best (none when one fits cleanly)", async () => {
    const found = await discover([
      ["bare"],
      ["declares", `[[plugin.entries]]\nid = "speak"\n`],
      ["clean", raw(`providers = ["bare", "declares"]\nentry = "speak"`)],
      ["only_bare", raw(`providers = ["bare", "ghost"]\nentry = "speak"`)],
    ]);
    assert.deepEqual(found.get("clean")?.warnings, []);
    assert.deepEqual(found.get("only_bare")?.warnings, [
      "plugin.toml: [[plugin.dependency]]: needs entry 'bare:speak': not checked before 'bare' runs (its manifest declares no [[plugin.entries]])",
    ]);
  });

  test("providers: no false cycle (a provider that needs this plugin is left out when another fits), no self-cycle", async () => {
    const found = await discover([
      ["c1", raw(`providers = ["c2", "c3"]`)],
      ["c2", dependency("c1")],
      ["c3"],
      ["selfish", raw(`providers = ["selfish", "c3"]`)],
      ["loop_a", raw(`providers = ["loop_b"]`)],
      ["loop_b", raw(`providers = ["loop_a", "ghost"]`)],
    ]);
    const lookup = (id: string) => found.get(id);
    for (const id of ["c1", "c2", "c3", "selfish"]) {
      assert.equal(found.get(id)?.status, "ok", id);
      assert.deepEqual(found.get(id)?.warnings, [], id);
    }
    assert.deepEqual(requiredIds(found.get("c1"), lookup), ["c3"]);
    assert.deepEqual(requiredIds(found.get("c2"), lookup), ["c1"]);
    assert.deepEqual(requiredIds(found.get("selfish"), lookup), ["c3"]);
    // A real cycle (the only fitting provider closes it) is still one, warned on both.
    assert.match(found.get("loop_a")?.warnings.join("\n") ?? "", /dependency cycle loop_a → loop_b → loop_a/);
    assert.match(found.get("loop_b")?.warnings.join("\n") ?? "", /dependency cycle loop_a → loop_b → loop_a/);
    const order: string[] = [];
    await inDependencyOrder(
      ["c2", "c1", "c3", "selfish"],
      (id) => requiredIds(found.get(id), lookup),
      async (id) => {
        order.push(id);
      },
    );
    assert.deepEqual(order.indexOf("c3") < order.indexOf("c1") && order.indexOf("c1") < order.indexOf("c2"), true);
  });

  test("untested / supported / conflicts ranges of the provider's version", async () => {
    const found = await discover([
      timer,
      ["in_supported", raw(`id = "timer"\nsupported = "^1.0.0"\nuntested = ">=1.0.0 <3"`)],
      ["in_untested", raw(`id = "timer"\nsupported = "~1.2.0"\nuntested = ">=1.0.0 <3"`)],
      ["untested_only", raw(`id = "timer"\nuntested = ">=2"`)],
      ["outside", raw(`id = "timer"\nsupported = ">=2"`)],
      ["conflict_hit", raw(`entry = "timer:start"\nconflicts = ["<1.0.0", ">=1.3.0 <1.4.0"]`)],
      ["conflict_miss", raw(`id = "timer"\nconflicts = ["<1.0.0", ">=2"]`)],
    ]);
    assert.deepEqual(found.get("in_supported")?.warnings, []);
    assert.equal(found.get("in_untested")?.status, "ok");
    assert.deepEqual(found.get("in_untested")?.warnings, [
      "plugin.toml: [[plugin.dependency]]: needs plugin 'timer': version 1.3.0 is inside the untested range '>=1.0.0 <3' only",
    ]);
    assert.deepEqual(found.get("untested_only")?.problems, [
      "plugin.toml: [[plugin.dependency]]: needs plugin 'timer', but version 1.3.0 is outside its untested range '>=2'",
    ]);
    assert.deepEqual(found.get("outside")?.problems, [
      "plugin.toml: [[plugin.dependency]]: needs plugin 'timer', but version 1.3.0 is outside its supported range '>=2'",
    ]);
    assert.deepEqual(found.get("conflict_hit")?.problems, [
      "plugin.toml: [[plugin.dependency]]: needs entry 'timer:start', but version 1.3.0 is inside its conflicts range '>=1.3.0 <1.4.0'",
    ]);
    assert.deepEqual(found.get("conflict_miss")?.problems, []);
  });
});
