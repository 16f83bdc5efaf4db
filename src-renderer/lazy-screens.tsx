import { lazy } from 'react';

/**
 * The screens a window does not open on, loaded when first shown (their own chunks): the script
 * evaluated before the first paint is the app shell with the Servers and Timeline screens only.
 */
export const BackupScreen = lazy(() =>
  import('./screens/BackupScreen').then((m) => ({ default: m.BackupScreen })),
);
export const PruneScreen = lazy(() =>
  import('./screens/PruneScreen').then((m) => ({ default: m.PruneScreen })),
);
export const RestoreScreen = lazy(() =>
  import('./screens/RestoreScreen').then((m) => ({ default: m.RestoreScreen })),
);
export const StandbyScreen = lazy(() =>
  import('./screens/StandbyScreen').then((m) => ({ default: m.StandbyScreen })),
);
export const ScheduleScreen = lazy(() =>
  import('./screens/ScheduleScreen').then((m) => ({ default: m.ScheduleScreen })),
);
export const LogScreen = lazy(() => import('./screens/LogScreen').then((m) => ({ default: m.LogScreen })));
