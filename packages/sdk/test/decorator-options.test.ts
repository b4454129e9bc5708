/** The hook, timer, message and event decorators refuse bad options when the class is defined. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { afterEntry, beforeEntry, hook } from "../src/hook-decorators.ts";
import { collectPluginMetadata } from "../src/plugin-metadata.ts";
import { customEvent, message, onEvent, timerInterval } from "../src/trigger-decorators.ts";
import { plugin } from "../src/plugin-namespace.ts";
import { pluginEntry } from "../src/decorators.ts";

describe("decorator options", () => {
  test("hooks record target, timing, priority and condition; bare and called forms both work", () => {
    class Hooked {
      @beforeEntry
      bare() {}

      @afterEntry({ target: "save", priority: -2, condition: "args.x == 1" })
      called() {}

      @plugin.hook({ target: "load", timing: "replace", id: "swap" })
      viaNamespace() {}
    }
    const hooks = collectPluginMetadata(Hooked).hooks.map(({ methodName: _m, ...h }) => h);
    assert.deepEqual(hooks, [
      { id: "bare", timing: "before", target: "*", priority: 0, condition: undefined },
      { id: "called", timing: "after", target: "save", priority: -2, condition: "args.x == 1" },
      { id: "swap", timing: "replace", target: "load", priority: 0, condition: undefined },
    ]);
  });

  test("bad hook options are refused with the hook's name", () => {
    assert.throws(
      () => {
        class X {
          @hook({ timing: "sometimes" as "before" })
          h() {}
        }
        return X;
      },
      { message: "@hook 'h': timing must be one of before, after, around, replace (got 'sometimes')" },
    );
    assert.throws(
      () => {
        class X {
          @beforeEntry({ target: "bad target!" })
          h() {}
        }
        return X;
      },
      { message: /@beforeEntry 'h': target must be an entry id or "\*"/ },
    );
    assert.throws(
      () => {
        class X {
          @beforeEntry({ priority: Number.NaN })
          h() {}
        }
        return X;
      },
      { message: /priority must be a finite number/ },
    );
    assert.throws(
      () => {
        class X {
          @beforeEntry({ condition: "args.f()" })
          check() {}
        }
        return X;
      },
      {
        name: "HookConditionError",
        message: /@beforeEntry 'check': invalid condition: function calls are not allowed at position 7/,
      },
    );
  });

  test("timers, messages and events refuse bad options", () => {
    assert.throws(
      () => {
        class X {
          @timerInterval({ id: "t", seconds: 0 })
          t() {}
        }
        return X;
      },
      { message: "@timerInterval 't': seconds must be above 0 and at most 2147483 seconds (about 24 days); got 0" },
    );
    assert.throws(
      () => {
        class X {
          @message({ id: "m" })
          a() {}

          @message({ id: "m" })
          b() {}
        }
        return X;
      },
      { message: /handler id 'm' is declared twice/ },
    );
    assert.throws(
      () => {
        class X {
          @onEvent({ eventType: "a:b" })
          e() {}
        }
        return X;
      },
      { message: /eventType must match/ },
    );
    assert.throws(
      () => {
        class X {
          @customEvent({ eventType: "timer" })
          e() {}
        }
        return X;
      },
      { message: /'timer' is a standard event type/ },
    );
  });

  test("the namespace decorators are the named ones", () => {
    assert.equal(plugin.entry, pluginEntry);
    assert.equal(plugin.timer, timerInterval);
    assert.equal(plugin.message, message);
    assert.equal(plugin.hook, hook);
  });
});

test("timeouts past what a timer can wait, and lifecycle handlers on static methods, are refused by name", async () => {
  const { lifecycle } = await import("../src/decorators.ts");
  const { EntryRegistry } = await import("../src/runtime/entry-registry.ts");
  assert.throws(
    () => new EntryRegistry().add({ id: "forever", timeout: Number.POSITIVE_INFINITY }, () => 1, { dynamic: true }),
    { message: "entry 'forever': timeout must be above 0 and at most 2147483 seconds (about 24 days); got Infinity" },
  );
  assert.throws(
    () => new EntryRegistry().add({ id: "month", timeout: 30 * 86400 }, () => 1, { dynamic: true }),
    /at most 2147483 seconds/,
  );
  assert.throws(() => {
    class X {
      name = "x";
      @lifecycle({ id: "startup" })
      static boot() {}
    }
    return X;
  }, /@lifecycle must decorate a public instance method \(got boot\)/);
});

test("an entry's autoStart and persist are booleans in its descriptor, persist null when not given", async () => {
  const { EntryRegistry } = await import("../src/runtime/entry-registry.ts");
  const entries = new EntryRegistry();
  const plain = entries.add({ id: "plain" }, () => 1, { dynamic: false });
  assert.equal(plain.autoStart, false);
  assert.equal(plain.persist, null);
  const both = entries.add({ id: "both", autoStart: true, persist: false }, () => 1, { dynamic: true });
  assert.equal(both.autoStart, true);
  assert.equal(both.persist, false);
  assert.throws(() => entries.add({ id: "typo", persist: "yes" as unknown as boolean }, () => 1, { dynamic: true }), {
    message: `entry 'typo': persist must be true or false (got "yes")`,
  });
});
