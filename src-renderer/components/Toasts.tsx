import type { Stores } from '../stores';

/** Job ends as in-app toasts (the web console without notification permission). */
export function Toasts({ stores }: { stores: Stores }) {
  const toasts = stores.notifications((s) => s.toasts);
  return (
    <div className="toasts" aria-live="polite">
      {toasts.map((t) => (
        <div
          key={t.id}
          className={t.urgent ? 'toast toast-bad' : 'toast'}
          role={t.urgent ? 'alert' : 'status'}
          data-testid="toast"
          data-state={t.state}
        >
          <strong>{t.title}</strong>
          <span>{t.body}</span>
          <button aria-label="Dismiss" onClick={() => stores.notifications.getState().dismiss(t.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
