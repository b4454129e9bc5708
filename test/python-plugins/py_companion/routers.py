from plugin.sdk.plugin import PluginRouter, plugin_entry, before_entry, Ok, Err, SdkError


class NotesRouter(PluginRouter):
    @plugin_entry(id="add", input_schema={
        "type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]})
    def add(self, text: str, **_):
        notes = self.plugin.store.get("router_notes", [])
        notes.append(text)
        self.plugin.store.set("router_notes", notes)
        return Ok({"count": len(notes), "plugin": self.main_plugin.plugin_id})

    @before_entry(target="add")
    def not_too_long(self, *, args, **_):
        if len(args["text"]) > 10:
            return Err(SdkError("at most 10 characters"))
        return None

    @before_entry(target="*")
    def only_mine(self, *, entry_id, **_):
        # A router's hooks apply to its own entries only: this never sees the plugin's other entries.
        if entry_id != "notes_add":
            return Err(SdkError(f"a router hook ran for {entry_id}"))
        return None
