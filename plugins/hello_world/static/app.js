// Calls hello_world:greet through the server's trigger route and shows the answer (or the error body's message).
const form = document.getElementById("greet");
const answer = document.getElementById("answer");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = new FormData(form).get("name");
  answer.textContent = "…";
  try {
    const response = await fetch("/plugin/trigger", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ plugin_id: "hello_world", entry_id: "greet", args: { name } }),
    });
    const body = await response.json();
    answer.textContent = body.success
      ? `${body.data.message} (greeting number ${body.data.count})`
      : `${body.error.code}: ${body.error.message}`;
  } catch (error) {
    answer.textContent = `the server did not answer: ${error.message}`;
  }
});
