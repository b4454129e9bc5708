/**
 * Configuration profiles written over HTTP, plugin.toml alone (`/config/base`), the TOML conversion routes, and
 * permanent writes winning over earlier temporary ones (docs/config.md#profiles, #temporary-changes): real plugin
 * processes, the real server, files in temporary folders. Bad names, `..` and symbolic links out of the plugin folder,
 * deleting the active profile, malformed TOML and oversized text are refused, and leave every file as it was.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { parse } from "smol-toml";
import { makeTempDir, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const code = `
import { Err, lifecycle, NekoPluginBase, nekoPlugin, Ok, pluginEntry } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class ShopPlugin extends NekoPluginBase {
  static override configSchema = {
    type: "object",
    properties: {
      shop: {
        type: "object",
        properties: { max_items: { type: "integer", minimum: 1, maximum: 1000 } },
      },
    },
  };
  changes: string[] = [];

  /** Refuses 13 items per cart, so a test can see a refused change leave everything as it was. */
  @lifecycle({ id: "config_change" })
  onConfigChange({ mode, newConfig }: { mode: string; newConfig: any }) {
    if (newConfig.shop?.max_items === 13) return Err("13 is unlucky");
    this.changes.push(mode);
  }

  /** Adds \`count\` items to the cart: refused past shop.max_items. */
  @pluginEntry({ id: "add" })
  add({ count }: { count: number }) {
    const max = this.config.getInt("shop.max_items");
    if (count > max) return Err(\`at most \${max} items\`);
    return Ok({ added: count, max });
  }

  @pluginEntry({ id: "profiles" })
  async profiles({ name }: { name: string }) {
    const list = await this.config.profiles();
    const one = await this.config.profile(name);
    return Ok({
      list: list.ok ? list.value : list.error.code,
      one: one.ok ? one.value : { code: one.error.code, message: one.error.message },
    });
  }

  @pluginEntry({ id: "read" })
  read({ path }: { path: string }) {
    return Ok({ value: this.config.get(path, null), changes: this.changes });
  }
}
`;

const shopManifest = (id: string, extra = "") => `# the shop's manifest
[plugin]
id = "${id}"
entry = "index.ts:ShopPlugin"
${extra}
[shop]
max_items = 10 # per cart

[other]
note = "plain"
`;

/** TOML as plain JSON data (smol-toml's tables have no prototype). */
const plain = (text: string) => JSON.parse(JSON.stringify(parse(text)));

describe("configuration profiles over HTTP, TOML conversion, temporary and permanent writes", () => {
  let root: string;
  let outside: string;
  let t: TestHost;
  const dirOf = (id: string) => path.join(root, id);
  const read = (id: string, file: string) => fs.readFileSync(path.join(dirOf(id), file), "utf8");
  const sees = async (id: string, p: string) => (await t.trigger(id, "read", { path: p })).body.data.value;
  const snapshot = (id: string) => {
    const files: Record<string, string> = {};
    const walk = (dir: string) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else if (entry.isFile()) files[path.relative(dirOf(id), full)] = fs.readFileSync(full, "utf8");
      }
    };
    walk(dirOf(id));
    return files;
  };

  before(async () => {
    root = makeTempDir();
    outside = makeTempDir("neko-outside-");
    fs.writeFileSync(path.join(outside, "secret.toml"), "[shop]\nmax_items = 7\n");
    // Profiles declared in plugin.toml, one of them active.
    writePlugin(root, {
      id: "shop",
      className: "ShopPlugin",
      code,
      manifest: shopManifest(
        "shop",
        '\n[plugin.config_profiles]\nactive = "busy"\n\n[plugin.config_profiles.files]\nbusy = "profiles/busy.toml"\nquiet = "profiles/quiet.toml"\n',
      ),
      files: {
        "profiles/busy.toml": "# busy days\n[shop]\nmax_items = 20\n",
        "profiles/quiet.toml": "[shop]\nmax_items = 5\n",
      },
    });
    // No profiles at all.
    writePlugin(root, { id: "bare", className: "ShopPlugin", code, manifest: shopManifest("bare") });
    // profiles.toml, with a path out of the folder, a link out of it, and a `profiles` folder that is a link out.
    writePlugin(root, {
      id: "links",
      className: "ShopPlugin",
      code,
      manifest: shopManifest("links"),
      files: {
        "profiles.toml":
          '# the declarations\n[files]\nevil = "../../outside.toml"\nlinked = "linked.toml"\nown = "own.toml"\n',
        "own.toml": '[other]\nnote = "own"\n',
      },
    });
    // profiles.toml with one profile, none active: for the original N.E.K.O.'s routes and fields.
    writePlugin(root, {
      id: "cafe",
      className: "ShopPlugin",
      code,
      manifest: shopManifest("cafe"),
      files: {
        "profiles.toml": '[files]\ncalm = "profiles/calm.toml"\n',
        "profiles/calm.toml": "[shop]\nmax_items = 6\n",
      },
    });
    fs.symlinkSync(path.join(outside, "secret.toml"), path.join(dirOf("links"), "linked.toml"));
    fs.symlinkSync(outside, path.join(dirOf("links"), "profiles"));
    t = await startTestHost({ roots: [root] });
  });
  after(async () => {
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(outside, { recursive: true, force: true });
  });

  test("a permanent write wins over an earlier temporary one on the keys it touches; others stay temporary", async () => {
    assert.equal(
      (
        await t.request("POST", "/plugin/bare/config/hot-update", {
          config: { shop: { max_items: 3 }, other: { note: "for now" } },
          mode: "temporary",
        })
      ).status,
      200,
    );
    assert.equal((await t.trigger("bare", "add", { count: 50 })).status, 422, "3 enforced");
    let served = (await t.request("GET", "/plugin/bare/config")).body;
    assert.deepEqual([served.temporary, served.temporary_keys], [true, ["shop.max_items", "other.note"]]);

    const permanent = await t.request("POST", "/plugin/bare/config/hot-update", {
      config: { shop: { max_items: 100 } },
      mode: "permanent",
    });
    assert.equal(permanent.status, 200, JSON.stringify(permanent.body));
    assert.equal(permanent.body.config.shop.max_items, 100);
    assert.equal((parse(read("bare", "plugin.toml")) as any).shop.max_items, 100, "the file says 100");
    const added = await t.trigger("bare", "add", { count: 50 });
    assert.equal(added.status, 200, JSON.stringify(added.body));
    assert.deepEqual(added.body.data, { added: 50, max: 100 }, "and the plugin enforces 100");
    served = (await t.request("GET", "/plugin/bare/config")).body;
    assert.equal(served.config.shop.max_items, 100);
    assert.deepEqual(served.temporary_keys, ["other.note"], "the untouched temporary value stays");
    assert.equal(await sees("bare", "other.note"), "for now");

    // A permanent write of the value the file already holds still ends the temporary value on that key.
    await t.request("POST", "/plugin/bare/config/hot-update", { config: { shop: { max_items: 4 } } });
    await t.request("POST", "/plugin/bare/config/hot-update", {
      config: { shop: { max_items: 100 } },
      mode: "permanent",
    });
    assert.equal(await sees("bare", "shop.max_items"), 100);

    // PUT /config/toml: the keys whose value changes in the file.
    await t.request("POST", "/plugin/bare/config/hot-update", { config: { shop: { max_items: 3 } } });
    const text = read("bare", "plugin.toml").replace(/max_items = 100/, "max_items = 200");
    assert.equal((await t.request("PUT", "/plugin/bare/config/toml", { toml: text })).status, 200);
    assert.equal((await t.trigger("bare", "add", { count: 150 })).body.data.max, 200);
    served = (await t.request("GET", "/plugin/bare/config")).body;
    assert.deepEqual(served.temporary_keys, ["other.note"]);

    // PUT /config (the whole document).
    await t.request("POST", "/plugin/bare/config/hot-update", { config: { shop: { max_items: 3 } } });
    const whole = { ...(parse(read("bare", "plugin.toml")) as any), shop: { max_items: 300 } };
    assert.equal((await t.request("PUT", "/plugin/bare/config", { config: whole })).status, 200);
    assert.equal(await sees("bare", "shop.max_items"), 300);
    assert.deepEqual((await t.request("GET", "/plugin/bare/config")).body.temporary_keys, ["other.note"]);
  });

  test("a profile switch ends the temporary values on the keys it changes", async () => {
    await t.request("POST", "/plugin/shop/config/hot-update", { config: { shop: { max_items: 3 }, other: { x: 1 } } });
    assert.equal(await sees("shop", "shop.max_items"), 3);
    const switched = await t.request("PUT", "/plugin/shop/config/profiles/active", { name: "quiet" });
    assert.equal(switched.status, 200, JSON.stringify(switched.body));
    assert.equal(await sees("shop", "shop.max_items"), 5);
    assert.deepEqual((await t.request("GET", "/plugin/shop/config")).body.temporary_keys, ["other.x"]);
    assert.equal((await t.request("PUT", "/plugin/shop/config/profiles/active", { name: "busy" })).status, 200);
    assert.equal(await sees("shop", "shop.max_items"), 20);
  });

  test("this.config.profiles() and profile(name) read the plugin's own profiles", async () => {
    const res = await t.trigger("shop", "profiles", { name: "quiet" });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const { list, one } = res.body.data;
    assert.deepEqual(
      [list.plugin_id, list.source, list.active, list.profiles.map((p: any) => [p.name, p.path, p.exists, p.problem])],
      [
        "shop",
        "plugin.toml",
        "busy",
        [
          ["busy", "profiles/busy.toml", true, null],
          ["quiet", "profiles/quiet.toml", true, null],
        ],
      ],
    );
    assert.deepEqual(one, {
      plugin_id: "shop",
      name: "quiet",
      path: "profiles/quiet.toml",
      active: false,
      profile: {
        name: "quiet",
        path: "profiles/quiet.toml",
        resolved_path: path.join(fs.realpathSync(dirOf("shop")), "profiles/quiet.toml"),
        exists: true,
      },
      config: { shop: { max_items: 5 } },
    });
    const unknown = (await t.trigger("shop", "profiles", { name: "nope" })).body.data.one;
    assert.equal(unknown.code, "NOT_FOUND");
    assert.equal(unknown.message, "plugin 'shop' declares no profile 'nope'");
  });

  test("a plugin cannot read another plugin's profiles by calling it its extension", async () => {
    const ctx = { pluginId: "bare", deadline: Date.now() + 5000 };
    for (const [method, params] of [
      ["config.profiles", { extension: "shop" }],
      ["config.profile", { name: "busy", extension: "shop" }],
    ] as const) {
      const answer = await t.host.services.request(method, params, ctx);
      assert.equal(answer.ok, false, method);
      assert.equal(!answer.ok && answer.error.code, "PERMISSION_DENIED");
      assert.equal(!answer.ok && answer.error.message, "plugin 'bare' holds no extension 'shop'");
    }
  });

  test("GET /config/base is plugin.toml without the profile overlay", async () => {
    const base = await t.request("GET", "/plugin/shop/config/base");
    assert.equal(base.status, 200);
    assert.equal(base.body.plugin_id, "shop");
    assert.equal(base.body.path, path.join(dirOf("shop"), "plugin.toml"));
    assert.equal(base.body.config.shop.max_items, 10);
    assert.equal((await t.request("GET", "/plugin/shop/config")).body.config.shop.max_items, 20);
    assert.equal((await t.request("GET", "/plugin/nope/config/base")).status, 404);
  });

  test("parse_toml and render_toml convert, naming a bad line or a value TOML cannot hold", async () => {
    const parsed = await t.request("POST", "/plugin/config/parse_toml", {
      toml: '[a]\nb = 1\nc = [true, "x"]\nd = 2024-01-02\n',
    });
    assert.equal(parsed.status, 200);
    assert.deepEqual(parsed.body, { config: { a: { b: 1, c: [true, "x"], d: "2024-01-02" } } });
    const bad = await t.request("POST", "/plugin/config/parse_toml", { toml: "a = 1\n\nb = = 2\n" });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, "CONFIG_INVALID");
    assert.match(bad.body.error.message, /^invalid TOML at line 3, column \d+: /);
    assert.equal(bad.body.error.details.line, 3);
    const notText = await t.request("POST", "/plugin/config/parse_toml", { toml: 5 });
    assert.equal(notText.status, 400);
    const big = await t.request("POST", "/plugin/config/parse_toml", { toml: `a = "${"x".repeat(300 * 1024)}"` });
    assert.equal(big.status, 413);
    assert.equal(big.body.error.code, "PAYLOAD_TOO_LARGE");
    assert.equal(big.body.error.details.limit, 256 * 1024);

    const rendered = await t.request("POST", "/plugin/config/render_toml", { config: { a: { b: 1, c: "x" } } });
    assert.equal(rendered.status, 200);
    assert.deepEqual(plain(rendered.body.toml), { a: { b: 1, c: "x" } });
    const hasNull = await t.request("POST", "/plugin/config/render_toml", { config: { a: { b: null } } });
    assert.equal(hasNull.status, 400);
    assert.equal(hasNull.body.error.details.path, "a.b");
    assert.match(hasNull.body.error.message, /'a\.b' is null/);
    const bigConfig = await t.request("POST", "/plugin/config/render_toml", { config: { a: "y".repeat(300 * 1024) } });
    assert.equal(bigConfig.status, 413);
  });

  test("a new profile on a plugin with none gets its file and a new profiles.toml; it can be updated and listed", async () => {
    const created = await t.request("PUT", "/plugin/bare/config/profiles/night", {
      config: { shop: { max_items: 2 } },
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    assert.deepEqual(
      [created.body.name, created.body.path, created.body.created, created.body.applied, created.body.profile],
      ["night", "profiles/night.toml", true, false, null],
    );
    assert.deepEqual(plain(read("bare", "profiles.toml")), { files: { night: "profiles/night.toml" } });
    assert.deepEqual(plain(read("bare", "profiles/night.toml")), { shop: { max_items: 2 } });
    assert.equal(await sees("bare", "shop.max_items"), 300, "not active: the plugin is untouched");

    fs.writeFileSync(path.join(dirOf("bare"), "profiles/night.toml"), "# quiet hours\n[shop]\nmax_items = 2 # few\n");
    const updated = await t.request("PUT", "/plugin/bare/config/profiles/night", {
      config: { shop: { max_items: 8 } },
    });
    assert.equal(updated.status, 200);
    assert.equal(updated.body.created, false);
    assert.equal(read("bare", "profiles/night.toml"), "# quiet hours\n[shop]\nmax_items = 8 # few\n", "comments kept");
    const listed = (await t.request("GET", "/plugin/bare/config/profiles")).body;
    assert.deepEqual(
      [listed.source, listed.active, listed.profiles.map((p: any) => p.name)],
      ["profiles.toml", null, ["night"]],
    );
    assert.equal((await t.request("PUT", "/plugin/bare/config/profiles/active", { name: "night" })).status, 200);
    assert.equal(await sees("bare", "shop.max_items"), 8);
  });

  test("a new profile of a plugin declaring them in plugin.toml is declared there; the active one reaches the plugin", async () => {
    const created = await t.request("PUT", "/plugin/shop/config/profiles/sale", {
      config: { shop: { max_items: 40 } },
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const manifest = parse(read("shop", "plugin.toml")) as any;
    assert.equal(manifest.plugin.config_profiles.files.sale, "profiles/sale.toml");
    assert.ok(read("shop", "plugin.toml").startsWith("# the shop's manifest\n"));
    assert.equal(fs.existsSync(path.join(dirOf("shop"), "profiles.toml")), false);

    const active = await t.request("PUT", "/plugin/shop/config/profiles/busy", { config: { shop: { max_items: 25 } } });
    assert.equal(active.status, 200, JSON.stringify(active.body));
    assert.deepEqual([active.body.applied, active.body.profile, active.body.config.shop.max_items], [true, "busy", 25]);
    const seen = (await t.trigger("shop", "read", { path: "shop.max_items" })).body.data;
    assert.equal(seen.value, 25);
    assert.equal(seen.changes.at(-1), "permanent");
    assert.equal(read("shop", "profiles/busy.toml"), "# busy days\n[shop]\nmax_items = 25\n");
  });

  test("the configSchema refuses a profile, active or not, naming the key; no file changes", async () => {
    const files = snapshot("shop");
    for (const name of ["busy", "quiet", "brand_new"]) {
      const res = await t.request("PUT", `/plugin/shop/config/profiles/${name}`, {
        config: { shop: { max_items: 0 } },
      });
      assert.equal(res.status, 400, `${name}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, "CONFIG_INVALID");
      assert.equal(res.body.error.details.path, "shop.max_items");
    }
    const nested = await t.request("PUT", "/plugin/shop/config/profiles/quiet", { config: { plugin: { id: "x" } } });
    assert.equal(nested.status, 400);
    assert.match(nested.body.error.message, /may not contain a \[plugin\] table/);
    const nullValue = await t.request("PUT", "/plugin/shop/config/profiles/quiet", { config: { shop: { a: null } } });
    assert.equal(nullValue.status, 400);
    assert.equal(nullValue.body.error.details.path, "shop.a");
    assert.deepEqual(snapshot("shop"), files);
    assert.equal(await sees("shop", "shop.max_items"), 25);
  });

  test("names that are not allowed for a new profile are refused", async () => {
    const files = snapshot("shop");
    for (const name of ["..%2Fx", ".hidden", "a%2Fb", "a%5Cb", "ACTIVE", "con", "-x", "x".repeat(65), "a.b"]) {
      const res = await t.request("PUT", `/plugin/shop/config/profiles/${name}`, { config: {} });
      assert.equal(res.status, 400, `${name}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, "CONFIG_INVALID", name);
    }
    assert.deepEqual(snapshot("shop"), files);
    assert.equal((await t.request("PUT", "/plugin/nope/config/profiles/x", { config: {} })).status, 404);
  });

  test("a profile path out of the plugin folder — `..`, a linked file, a linked folder — is never written", async () => {
    const files = snapshot("links");
    const secret = fs.readFileSync(path.join(outside, "secret.toml"), "utf8");
    for (const name of ["evil", "linked", "fresh"]) {
      const res = await t.request("PUT", `/plugin/links/config/profiles/${name}`, {
        config: { shop: { max_items: 9 } },
      });
      assert.equal(res.status, 400, `${name}: ${JSON.stringify(res.body)}`);
      assert.match(res.body.error.message, /leaves the plugin folder/, name);
    }
    assert.deepEqual(snapshot("links"), files);
    assert.equal(fs.readFileSync(path.join(outside, "secret.toml"), "utf8"), secret);
    assert.deepEqual(fs.readdirSync(outside), ["secret.toml"], "nothing created through the linked folder");
  });

  test("deleting: the active profile is refused; another goes with its file; one out of the folder keeps the file", async () => {
    const active = await t.request("DELETE", "/plugin/shop/config/profiles/busy");
    assert.equal(active.status, 409);
    assert.equal(active.body.error.code, "CONFIG_PROFILE_ACTIVE");
    assert.match(active.body.error.message, /profile 'busy' is the active profile of plugin 'shop'/);
    assert.ok(fs.existsSync(path.join(dirOf("shop"), "profiles/busy.toml")));

    const missing = await t.request("DELETE", "/plugin/shop/config/profiles/nothing");
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, "NOT_FOUND");

    const deleted = await t.request("DELETE", "/plugin/shop/config/profiles/quiet");
    assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
    assert.deepEqual(deleted.body, {
      success: true,
      plugin_id: "shop",
      name: "quiet",
      profile: "quiet",
      removed: true,
      path: "profiles/quiet.toml",
      file_removed: true,
      profiles: ["busy", "sale"],
    });
    assert.equal(fs.existsSync(path.join(dirOf("shop"), "profiles/quiet.toml")), false);
    assert.deepEqual(Object.keys((parse(read("shop", "plugin.toml")) as any).plugin.config_profiles.files), [
      "busy",
      "sale",
    ]);
    assert.equal((await t.request("GET", "/plugins/shop")).body.status, "running");

    const evil = await t.request("DELETE", "/plugin/links/config/profiles/evil");
    assert.equal(evil.status, 200);
    assert.equal(evil.body.file_removed, false);
    const linked = await t.request("DELETE", "/plugin/links/config/profiles/linked");
    assert.equal(linked.status, 200);
    assert.equal(linked.body.file_removed, false, "a link out of the folder is not followed");
    assert.ok(fs.existsSync(path.join(outside, "secret.toml")));
    assert.deepEqual({ ...(parse(read("links", "profiles.toml")) as any).files }, { own: "own.toml" });
  });
  // ---- the original N.E.K.O.'s paths and fields --------------------------------------------------------------------

  test("POST /plugin/{id}/config/parse_toml and render_toml: per plugin, its plugin.id and plugin.entry kept", async () => {
    const parsed = await t.request("POST", "/plugin/cafe/config/parse_toml", {
      toml: '[plugin]\nid = "cafe"\nentry = "index.ts:ShopPlugin"\n\n[shop]\nmax_items = 3\n',
    });
    assert.equal(parsed.status, 200, JSON.stringify(parsed.body));
    assert.deepEqual(parsed.body, {
      plugin_id: "cafe",
      config: { plugin: { id: "cafe", entry: "index.ts:ShopPlugin" }, shop: { max_items: 3 } },
    });
    const fragment = await t.request("POST", "/plugin/cafe/config/parse_toml", { toml: "[shop]\nmax_items = 4\n" });
    assert.deepEqual(fragment.body, { plugin_id: "cafe", config: { shop: { max_items: 4 } } });
    const rendered = await t.request("POST", "/plugin/cafe/config/render_toml", { config: { shop: { max_items: 3 } } });
    assert.equal(rendered.status, 200);
    assert.deepEqual(Object.keys(rendered.body), ["plugin_id", "toml"]);
    assert.equal(rendered.body.plugin_id, "cafe");
    assert.deepEqual(plain(rendered.body.toml), { shop: { max_items: 3 } });

    const otherId = await t.request("POST", "/plugin/cafe/config/parse_toml", { toml: '[plugin]\nid = "shop"\n' });
    assert.equal(otherId.status, 403);
    assert.equal(otherId.body.error.code, "CONFIG_PROTECTED_FIELD");
    assert.equal(otherId.body.error.details.field, "plugin.id");
    const otherEntry = await t.request("POST", "/plugin/cafe/config/render_toml", {
      config: { plugin: { entry: "evil.ts:Evil" } },
    });
    assert.equal(otherEntry.status, 403);
    assert.deepEqual(otherEntry.body.error.details, {
      field: "plugin.entry",
      current: "index.ts:ShopPlugin",
      requested: "evil.ts:Evil",
    });
    for (const route of ["parse_toml", "render_toml"]) {
      const body = route === "parse_toml" ? { toml: "a = 1" } : { config: { a: 1 } };
      const unknown = await t.request("POST", `/plugin/nope/config/${route}`, body);
      assert.equal(unknown.status, 404, route);
      assert.equal(unknown.body.error.code, "PLUGIN_NOT_FOUND", route);
    }
    const bad = await t.request("POST", "/plugin/cafe/config/parse_toml", { toml: "a = \n" });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.details.line, 1);
    assert.equal((await t.request("POST", "/plugin/cafe/config/parse_toml", { toml: ["x"] })).status, 400);
  });

  test("PUT …/profiles/{name} with make_active: written and activated in one write; refused, nothing written", async () => {
    const files = snapshot("cafe");
    const wrongType = await t.request("PUT", "/plugin/cafe/config/profiles/rush", {
      config: { shop: { max_items: 30 } },
      make_active: "yes",
    });
    assert.equal(wrongType.status, 400);
    assert.equal(wrongType.body.error.code, "VALIDATION_ERROR");
    const refused = await t.request("PUT", "/plugin/cafe/config/profiles/rush", {
      config: { shop: { max_items: 0 } },
      make_active: true,
    });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error.details.path, "shop.max_items");
    const unlucky = await t.request("PUT", "/plugin/cafe/config/profiles/rush", {
      config: { shop: { max_items: 13 } },
      make_active: true,
    });
    assert.equal(unlucky.status, 409, JSON.stringify(unlucky.body));
    assert.equal(unlucky.body.error.code, "CONFIG_CHANGE_REFUSED");
    assert.deepEqual(snapshot("cafe"), files, "refused: no profile file, no declaration, no switch");
    assert.equal(await sees("cafe", "shop.max_items"), 10);

    const made = await t.request("PUT", "/plugin/cafe/config/profiles/rush", {
      config: { shop: { max_items: 30 } },
      make_active: true,
    });
    assert.equal(made.status, 200, JSON.stringify(made.body));
    const { config, ...rest } = made.body;
    assert.deepEqual(rest, {
      success: true,
      plugin_id: "cafe",
      mode: "profile",
      profile: "rush",
      applied: true,
      name: "rush",
      path: "profiles/rush.toml",
      created: true,
    });
    assert.equal(config.shop.max_items, 30);
    assert.deepEqual(plain(read("cafe", "profiles.toml")), {
      active: "rush",
      files: { calm: "profiles/calm.toml", rush: "profiles/rush.toml" },
    });
    assert.deepEqual(plain(read("cafe", "profiles/rush.toml")), { shop: { max_items: 30 } });
    const seen = (await t.trigger("cafe", "read", { path: "shop.max_items" })).body.data;
    assert.deepEqual([seen.value, seen.changes.at(-1)], [30, "profile"]);

    // make_active: false on the active profile does not switch it off.
    const again = await t.request("PUT", "/plugin/cafe/config/profiles/rush", {
      config: { shop: { max_items: 32 } },
      make_active: false,
    });
    assert.deepEqual([again.status, again.body.mode, again.body.profile], [200, "permanent", "rush"]);
    assert.equal(await sees("cafe", "shop.max_items"), 32);
  });

  test("POST …/profiles/{name}/activate switches and answers the listing; an undeclared name is 404", async () => {
    const files = snapshot("cafe");
    const ghost = await t.request("POST", "/plugin/cafe/config/profiles/ghost/activate");
    assert.equal(ghost.status, 404);
    assert.equal(ghost.body.error.code, "NOT_FOUND");
    assert.deepEqual(ghost.body.error.details, { profiles: ["calm", "rush"] });
    assert.equal(
      (await t.request("POST", "/plugin/nope/config/profiles/calm/activate")).body.error.code,
      "PLUGIN_NOT_FOUND",
    );
    assert.deepEqual(snapshot("cafe"), files);

    const activated = await t.request("POST", "/plugin/cafe/config/profiles/calm/activate");
    assert.equal(activated.status, 200, JSON.stringify(activated.body));
    const { config, ...rest } = activated.body;
    const real = fs.realpathSync(dirOf("cafe"));
    assert.deepEqual(rest, {
      success: true,
      plugin_id: "cafe",
      mode: "profile",
      profile: "calm",
      applied: true,
      profiles_path: path.join(dirOf("cafe"), "profiles.toml"),
      profiles_exists: true,
      config_profiles: {
        active: "calm",
        files: {
          calm: { path: "profiles/calm.toml", resolved_path: path.join(real, "profiles/calm.toml"), exists: true },
          rush: { path: "profiles/rush.toml", resolved_path: path.join(real, "profiles/rush.toml"), exists: true },
        },
      },
    });
    assert.equal(config.shop.max_items, 6);
    assert.equal(await sees("cafe", "shop.max_items"), 6);
    assert.equal((parse(read("cafe", "profiles.toml")) as any).active, "calm");
  });

  test("GET …/config/base/effective: plugin.toml with the temporary changes, without the profile", async () => {
    await t.request("POST", "/plugin/cafe/config/hot-update", { config: { other: { note: "for now" } } });
    const res = await t.request("GET", "/plugin/cafe/config/base/effective");
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, {
      plugin_id: "cafe",
      path: path.join(dirOf("cafe"), "plugin.toml"),
      config: { ...plain(read("cafe", "plugin.toml")), other: { note: "for now" } },
      temporary: true,
      temporary_keys: ["other.note"],
      running: true,
    });
    assert.equal(res.body.config.shop.max_items, 10, "not the active profile's 6");
    assert.equal((await t.request("GET", "/plugin/cafe/config")).body.config.shop.max_items, 6);
    const unknown = await t.request("GET", "/plugin/nope/config/base/effective");
    assert.deepEqual([unknown.status, unknown.body.error.code], [404, "PLUGIN_NOT_FOUND"]);
  });

  test("POST …/hot-update with profile merges into that profile's file, with every write's checks", async () => {
    await t.request("POST", "/plugin/cafe/config/hot-update", { config: { shop: { max_items: 2 } } });
    assert.equal(await sees("cafe", "shop.max_items"), 2);
    const manifest = read("cafe", "plugin.toml");
    const active = await t.request("POST", "/plugin/cafe/config/hot-update", {
      config: { shop: { max_items: 7 }, other: { extra: true } },
      mode: "permanent",
      profile: "calm",
    });
    assert.equal(active.status, 200, JSON.stringify(active.body));
    const { config, ...rest } = active.body;
    assert.deepEqual(rest, {
      success: true,
      plugin_id: "cafe",
      mode: "permanent",
      profile: "calm",
      applied: true,
      name: "calm",
      path: "profiles/calm.toml",
      created: false,
    });
    assert.deepEqual([config.shop.max_items, config.other], [7, { note: "for now", extra: true }]);
    assert.equal(read("cafe", "profiles/calm.toml"), "[shop]\nmax_items = 7\n\n[other]\nextra = true\n");
    assert.equal(read("cafe", "plugin.toml"), manifest, "plugin.toml untouched");
    assert.equal(await sees("cafe", "shop.max_items"), 7, "the temporary 2 ended");
    assert.deepEqual((await t.request("GET", "/plugin/cafe/config")).body.temporary_keys, ["other.note"]);

    const other = await t.request("POST", "/plugin/cafe/config/hot-update", {
      config: { shop: { max_items: 31 }, other: "__DELETE__" },
      mode: "permanent",
      profile: "rush",
    });
    assert.deepEqual([other.status, other.body.applied, other.body.profile], [200, false, "calm"]);
    // The marker is kept in the profile: it removes `other` from the effective configuration when rush is active.
    assert.deepEqual(plain(read("cafe", "profiles/rush.toml")), { shop: { max_items: 31 }, other: "__DELETE__" });
    assert.equal(await sees("cafe", "shop.max_items"), 7, "not the active profile: the plugin is untouched");

    // Bad input: nothing changes anywhere.
    const links = path.join(dirOf("links"), "profiles.toml");
    fs.writeFileSync(links, '[files]\nown = "own.toml"\nevil = "../../outside.toml"\n');
    const before = { cafe: snapshot("cafe"), links: snapshot("links") };
    const secret = fs.readFileSync(path.join(outside, "secret.toml"), "utf8");
    const cases: Array<[string, unknown, number, string, RegExp]> = [
      [
        "cafe",
        { config: { shop: { max_items: 8 } }, mode: "permanent", profile: "ghost" },
        404,
        "NOT_FOUND",
        /declares no profile 'ghost'/,
      ],
      ["cafe", { config: { shop: { max_items: 8 } }, profile: "calm" }, 400, "CONFIG_INVALID", /use mode 'permanent'/],
      [
        "cafe",
        { config: { shop: { max_items: 0 } }, mode: "permanent", profile: "calm" },
        400,
        "CONFIG_INVALID",
        /max_items/,
      ],
      [
        "cafe",
        { config: { shop: { max_items: 13 } }, mode: "permanent", profile: "calm" },
        409,
        "CONFIG_CHANGE_REFUSED",
        /13 is unlucky/,
      ],
      [
        "cafe",
        { config: { plugin: { id: "x" } }, mode: "permanent", profile: "calm" },
        400,
        "CONFIG_INVALID",
        /\[plugin\] table/,
      ],
      [
        "cafe",
        { config: { shop: { a: null } }, mode: "permanent", profile: "calm" },
        400,
        "CONFIG_INVALID",
        /'shop\.a' is null/,
      ],
      ["cafe", { config: {}, mode: "permanent", profile: 5 }, 400, "VALIDATION_ERROR", /profile/],
      [
        "links",
        { config: { shop: { max_items: 9 } }, mode: "permanent", profile: "evil" },
        400,
        "CONFIG_INVALID",
        /leaves the plugin folder/,
      ],
    ];
    for (const [id, body, status, code, message] of cases) {
      const res = await t.request("POST", `/plugin/${id}/config/hot-update`, body);
      assert.deepEqual([res.status, res.body.error?.code], [status, code], JSON.stringify([body, res.body]));
      assert.match(res.body.error.message, message);
    }
    assert.deepEqual({ cafe: snapshot("cafe"), links: snapshot("links") }, before);
    assert.equal(fs.readFileSync(path.join(outside, "secret.toml"), "utf8"), secret);
    assert.equal(await sees("cafe", "shop.max_items"), 7);
  });

  test("GET …/profiles, GET …/profiles/{name} and DELETE carry the original N.E.K.O.'s fields too", async () => {
    const real = fs.realpathSync(dirOf("cafe"));
    const listed = await t.request("GET", "/plugin/cafe/config/profiles");
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.body, {
      plugin_id: "cafe",
      source: "profiles.toml",
      active: "calm",
      profiles: [
        {
          name: "calm",
          path: "profiles/calm.toml",
          resolved_path: path.join(real, "profiles/calm.toml"),
          exists: true,
          problem: null,
        },
        {
          name: "rush",
          path: "profiles/rush.toml",
          resolved_path: path.join(real, "profiles/rush.toml"),
          exists: true,
          problem: null,
        },
      ],
      profiles_path: path.join(dirOf("cafe"), "profiles.toml"),
      profiles_exists: true,
      config_profiles: {
        active: "calm",
        files: {
          calm: { path: "profiles/calm.toml", resolved_path: path.join(real, "profiles/calm.toml"), exists: true },
          rush: { path: "profiles/rush.toml", resolved_path: path.join(real, "profiles/rush.toml"), exists: true },
        },
      },
    });
    const one = await t.request("GET", "/plugin/cafe/config/profiles/rush");
    assert.deepEqual(one.body, {
      plugin_id: "cafe",
      name: "rush",
      path: "profiles/rush.toml",
      active: false,
      profile: {
        name: "rush",
        path: "profiles/rush.toml",
        resolved_path: path.join(real, "profiles/rush.toml"),
        exists: true,
      },
      config: { shop: { max_items: 31 }, other: "__DELETE__" },
    });
    const deleted = await t.request("DELETE", "/plugin/cafe/config/profiles/rush");
    assert.deepEqual(deleted.body, {
      success: true,
      plugin_id: "cafe",
      name: "rush",
      profile: "rush",
      removed: true,
      path: "profiles/rush.toml",
      file_removed: true,
      profiles: ["calm"],
    });
    // A plugin declaring no profiles: config_profiles is null, as in the original.
    fs.rmSync(path.join(dirOf("cafe"), "profiles.toml"));
    const none = (await t.request("GET", "/plugin/cafe/config/profiles")).body;
    assert.deepEqual([none.source, none.profiles, none.profiles_exists, none.config_profiles], [null, [], false, null]);
    const gone = await t.request("GET", "/plugin/cafe/config/profiles/calm");
    assert.deepEqual([gone.status, gone.body.error.code], [404, "NOT_FOUND"]);
  });

  test("make_active declares and activates where the plugin declares its profiles: a new profiles.toml, or plugin.toml", async () => {
    // cafe declares none now: a new profiles.toml, with `active`.
    const fresh = await t.request("PUT", "/plugin/cafe/config/profiles/fresh", {
      config: { shop: { max_items: 11 } },
      make_active: true,
    });
    assert.equal(fresh.status, 200, JSON.stringify(fresh.body));
    assert.deepEqual(plain(read("cafe", "profiles.toml")), {
      active: "fresh",
      files: { fresh: "profiles/fresh.toml" },
    });
    assert.equal(await sees("cafe", "shop.max_items"), 11);

    // shop declares them in plugin.toml: `active` changes there, its comments kept.
    const sale = await t.request("PUT", "/plugin/shop/config/profiles/sale", {
      config: { shop: { max_items: 45 } },
      make_active: true,
    });
    assert.equal(sale.status, 200, JSON.stringify(sale.body));
    assert.deepEqual([sale.body.mode, sale.body.profile, sale.body.created], ["profile", "sale", false]);
    const manifest = read("shop", "plugin.toml");
    assert.ok(manifest.startsWith("# the shop's manifest\n"));
    assert.equal((parse(manifest) as any).plugin.config_profiles.active, "sale");
    assert.equal(await sees("shop", "shop.max_items"), 45);
    assert.equal((await t.request("GET", "/plugins/shop")).body.status, "running");
  });
});
