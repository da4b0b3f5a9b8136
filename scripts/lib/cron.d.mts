export declare const STARTUP_CRON: string;
export declare function tickScheduled(url: string, cron?: string): Promise<void>;
export declare function startCron(url: string, options?: { onError?: (error: Error) => void }): () => void;
