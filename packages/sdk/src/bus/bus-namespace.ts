/**
 * `this.bus.<namespace>`: queries one of the host's bounded record stores and deletes the plugin's own records in it;
 * `conversations` also takes records.
 */
import type {
  BUS_DELETABLE_NAMESPACES,
  BusDeleteAnswer,
  BusFilters,
  BusNamespaceName,
  BusRecord,
} from "@neko/protocol";
import { ValidationError, type SdkError } from "../errors.ts";
import { Err, Ok, type Result } from "../result.ts";
import { toResult } from "../wire-result.ts";
import type { BusLink } from "./bus-connection.ts";
import { type BusListOrigin, BusRecordList, type BusListStep } from "./bus-record-list.ts";
import { BusWatcher } from "./bus-watcher.ts";

export class BusNamespace {
  constructor(
    protected readonly connection: BusLink,
    readonly name: BusNamespaceName,
  ) {}

  /**
   * The latest records matching the filters (all kept ones by default), oldest first, as a list to refine with
   * `filter` / `where` / `sort` / `limit` and to `watch()`.
   */
  async get(filters: BusFilters = {}): Promise<Result<BusRecordList, SdkError>> {
    if (typeof filters !== "object" || filters === null) {
      return Err(new ValidationError("get(filters): filters must be an object", { details: { field: "filters" } }));
    }
    const answer = toResult<{ revision: number; records: BusRecord[] }>(
      await this.connection.request("bus.query", { namespace: this.name, filters }),
    );
    if (!answer.ok) return answer;
    const origin: BusListOrigin = {
      namespace: this.name,
      filters,
      revision: answer.value.revision,
      base: answer.value.records,
      openWatcher: (from: BusListOrigin, steps: readonly BusListStep[]) => new BusWatcher(this.connection, from, steps),
    };
    return Ok(new BusRecordList(origin));
  }

  /**
   * Deletes records of this namespace that this plugin wrote: events it emitted, messages it pushed, conversation
   * records it added (by id, or the records or a list themselves). All or nothing: one record of another plugin or of
   * the host refuses the call with `PermissionDeniedError` and deletes none. `lifecycle` and `memory` are the host's
   * record and are never deleted. Ids no longer kept come back in `missing`. Watchers see the records go (`del`).
   */
  async delete(records: number | BusRecord | Iterable<number | BusRecord>): Promise<Result<BusDeleteAnswer, SdkError>> {
    const items = typeof records === "number" || isRecord(records) ? [records] : records;
    if (items === null || typeof items !== "object" || !(Symbol.iterator in items)) {
      return Err(
        new ValidationError("delete(records): give a record id, a record, or a list of them", {
          details: { field: "records" },
        }),
      );
    }
    const ids = [...items].map((item) => (isRecord(item) ? item.id : item));
    return toResult<BusDeleteAnswer>(
      await this.connection.request("bus.delete", {
        // `lifecycle` and `memory` are refused by the host, with the reason.
        namespace: this.name as (typeof BUS_DELETABLE_NAMESPACES)[number],
        ids,
      }),
    );
  }
}

function isRecord(value: unknown): value is BusRecord {
  return typeof value === "object" && value !== null && !(Symbol.iterator in value) && "id" in value;
}

export interface ConversationRecordInput {
  /** Default `conversation`. */
  type?: string;
  /** Default: the plugin id. */
  source?: string;
  priority?: number;
  data: unknown;
}

/** `this.bus.conversations`: plugins that carry conversations (adapters, chat bridges) add their turns here. */
export class ConversationNamespace extends BusNamespace {
  async add(record: ConversationRecordInput): Promise<Result<BusRecord, SdkError>> {
    return toResult<BusRecord>(await this.connection.request("bus.append", { namespace: "conversations", record }));
  }
}
