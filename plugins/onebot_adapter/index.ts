import { NekoAdapterPlugin } from "@neko/plugin-sdk/adapter";
import { nekoPlugin } from "@neko/plugin-sdk/plugin";

/** The OneBot v11 adapter (docs/onebot.md): filled in by the OneBot work. */
@nekoPlugin
export class OneBotAdapterPlugin extends NekoAdapterPlugin {}
