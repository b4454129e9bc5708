// Child process of the fork floors (fork-floor.ts), plain JavaScript with no loader: imports the packages named in
// its arguments (none for the bare floor), says "ready" on the IPC channel, then idles until its parent lets go.
for (const specifier of process.argv.slice(2)) await import(specifier);
process.send?.("ready");
process.on("disconnect", () => process.exit(0));
