/** What an action answered — done, failed, or under way — in a line that screen readers announce. */

export interface Feedback {
  kind: "ok" | "error" | "working";
  text: string;
}

export function FeedbackLine({ feedback }: { feedback: Feedback | null }) {
  // Always in the page, so a screen reader hears what is put in it.
  return (
    <p class={`feedback ${feedback?.kind ?? ""}`} role={feedback?.kind === "error" ? "alert" : "status"}>
      {feedback?.text ?? ""}
    </p>
  );
}
