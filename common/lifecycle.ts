// What every process's composition root hands back: where it listens and
// how to stop it cleanly (close listeners, drain work, release connections).
export interface RunningService {
  readonly name: string;
  readonly url: string;
  close(): Promise<void>;
}
