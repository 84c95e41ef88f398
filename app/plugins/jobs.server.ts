// Plugins' background jobs (the reporting plugin's notification outbox): each job runs for every
// active city that has its plugin enabled, every `everySeconds`. Jobs run outside transactions and
// claim their work themselves, so two instances running them at once do not deliver twice.
import { withPlatformAdmin, type Database } from "../db/database.server";
import { allPlugins } from "./catalogue.server";
import type { PluginJob } from "./sdk.server";

export type JobRunner = { stop(): Promise<void>; tick(): Promise<void> };

type Due = { pluginId: string; job: PluginJob; tenantId: string; settings: Record<string, unknown> };

export function startPluginJobs(options: { database?: Database; tickMs?: number; log?: (line: string) => void; now?: () => number } = {}): JobRunner {
  const now = options.now ?? Date.now;
  const lastRun = new Map<string, number>();
  let running: Promise<void> | null = null;
  let stopped = false;

  async function due(): Promise<Due[]> {
    const withJobs = allPlugins().filter((plugin) => (plugin.jobs?.length ?? 0) > 0);
    if (withJobs.length === 0) return [];
    // Across cities: a platform read of who runs what, as the tenant lookup is.
    const installations = await withPlatformAdmin(
      (tx) =>
        tx.pluginInstallation.findMany({
          where: { enabled: true, pluginId: { in: withJobs.map((plugin) => plugin.id) }, city: { status: "active" } },
          select: { tenantId: true, pluginId: true, settings: true },
        }),
      options.database,
    );
    return installations.flatMap((installation) => {
      const plugin = withJobs.find((candidate) => candidate.id === installation.pluginId)!;
      return (plugin.jobs ?? []).map((job) => ({ pluginId: plugin.id, job, tenantId: installation.tenantId, settings: (installation.settings ?? {}) as Record<string, unknown> }));
    });
  }

  async function tick(): Promise<void> {
    for (const { pluginId, job, tenantId, settings } of await due()) {
      if (stopped) return;
      const key = `${pluginId}/${job.name}/${tenantId}`;
      if (now() - (lastRun.get(key) ?? -Infinity) < job.everySeconds * 1000) continue;
      lastRun.set(key, now());
      try {
        await job.run({ tenantId, settings, database: options.database });
      } catch (error) {
        // One city's failure (a mail server down) must not stop the others' jobs.
        options.log?.(`job ${key} failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }

  const timer = setInterval(() => {
    if (running || stopped) return;
    running = tick()
      .catch((error: unknown) => options.log?.(`jobs: ${error instanceof Error ? error.message : String(error)}`))
      .finally(() => {
        running = null;
      });
  }, options.tickMs ?? 5_000);
  timer.unref();

  return {
    tick,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
