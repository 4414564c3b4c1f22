"""The benchmark scripts' tables: printed with rich where people read them, as Markdown for the committed reports."""

from __future__ import annotations

Table = tuple[str, list[str], list[list[str]]]  # title, header, rows of cells


def print_tables(tables: list[Table]) -> None:
    """Print each table with rich (figures right-aligned), or as plain text when rich is not installed."""
    try:
        from rich.console import Console
        from rich.table import Table as RichTable
    except ImportError:
        for title, header, rows in tables:
            print(f"\n{title}\n" + "\n".join(" | ".join(r) for r in [header, *rows]))
        return
    console = Console()
    for title, header, rows in tables:
        table = RichTable(title=title)
        for col in header:
            table.add_column(col, justify="right")
        for row in rows:
            table.add_row(*row)
        console.print(table)


def markdown(tables: list[Table]) -> list[str]:
    """The tables as Markdown lines, one section each: labels left, figures right."""
    lines: list[str] = []
    for title, header, rows in tables:
        lines += [f"## {title}", "", "| " + " | ".join(header) + " |", "|:---|" + "---:|" * (len(header) - 1)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        lines.append("")
    return lines
