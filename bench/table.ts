// Pure rendering of bench results: Markdown tables and number formats. No I/O.

export type Align = "left" | "right";

export interface Column<R> {
    readonly header: string;
    readonly align?: Align;
    readonly value: (row: R) => string;
}

/** `|` and newlines would break a Markdown table cell. */
function cell(s: string): string {
    return s.replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

/**
 * A GitHub-flavoured Markdown table, cells padded so the text is also readable on a terminal.
 * Right-aligned columns (numbers) get `---:` in the separator row.
 */
export function markdownTable<R>(columns: readonly Column<R>[], rows: readonly R[]): string {
    const body = rows.map((r) => columns.map((c) => cell(c.value(r))));
    const heads = columns.map((c) => cell(c.header));
    const widths = columns.map((_, i) => Math.max(3, heads[i].length, ...body.map((b) => b[i].length)));
    const pad = (s: string, i: number) => (columns[i].align === "right" ? s.padStart(widths[i]) : s.padEnd(widths[i]));
    const line = (cells: string[]) => `| ${cells.map(pad).join(" | ")} |`;
    const sep = `| ${widths.map((w, i) => (columns[i].align === "right" ? `${"-".repeat(w - 1)}:` : "-".repeat(w))).join(" | ")} |`;
    return [line(heads), sep, ...body.map(line)].join("\n");
}

/** A number with `digits` decimals; "n/a" for NaN/undefined (a figure that was not measured). */
export function num(x: number | undefined, digits = 1): string {
    return x === undefined || !Number.isFinite(x) ? "n/a" : x.toFixed(digits);
}

/** Milliseconds as "850 ms" or "12.3 s". */
export function duration(ms: number | undefined): string {
    if (ms === undefined || !Number.isFinite(ms)) {
        return "n/a";
    }
    return ms < 1000 ? `${ms.toFixed(ms < 10 ? 1 : 0)} ms` : `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
}

/** A ratio as "0.42×". */
export function times(x: number | undefined): string {
    return x === undefined || !Number.isFinite(x) ? "n/a" : `${x.toFixed(2)}×`;
}

/** Bytes as "10.0 MiB" / "1.00 GiB". */
export function bytes(n: number): string {
    const MiB = 1024 * 1024;
    if (n >= 1024 * MiB) {
        return `${(n / 1024 / MiB).toFixed(2)} GiB`;
    }
    if (n >= MiB) {
        return `${(n / MiB).toFixed(1)} MiB`;
    }
    return `${(n / 1024).toFixed(1)} KiB`;
}
