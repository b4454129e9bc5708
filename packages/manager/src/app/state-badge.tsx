/** A plugin's, extension's or run's state as a badge, coloured by what it means (manager.css). */
export function StateBadge({ state }: { state: string }) {
  return <span class={`badge state-${state.replace(/[^\w-]/g, "_")}`}>{state}</span>;
}
