"""Write the sample PDF of data/sample/ (the Markdown and HTML samples are plain files beside it).

Run: python data/make_sample_docs.py   (idempotent: the same bytes each time)
The facts here are invented, so answers can only come from the documents, and tests check them.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.pdfwrite import write_text_pdf  # noqa: E402

SAMPLE_DIR = Path(__file__).resolve().parent / "sample"

VALMARA_REPORT = [
    "Port of Valmara - Annual Report 2025\n"
    "Overview\n"
    "The Port of Valmara handled 4.2 million TEU of containers in 2025, an increase of 6 percent "
    "over the 3.96 million TEU handled in 2024. Bulk cargo fell slightly to 11.8 million tonnes.\n"
    "The harbour master, Ilse Brandvik, took office on 1 February 2025 after twelve years as deputy "
    "harbour master. The port employs 2,310 people directly.",
    "Infrastructure\n"
    "Two electric ship-to-shore cranes were commissioned at Berth 7 in March 2025. Each crane lifts "
    "up to 65 tonnes and reaches across ships 24 containers wide.\n"
    "Dredging of the main channel finished in September 2025 and deepened it to 16.5 metres, so the "
    "largest container ships can now call at any tide. Capital spending in 2025 was 212 million euros.",
    "Environment and outlook\n"
    "Shore power is now available at 11 berths, and carbon dioxide emissions from port operations "
    "fell by 18 percent compared with 2024.\n"
    "For 2026 the port expects to handle 4.5 million TEU. A freight rail link to the inland terminal "
    "at Kessling is planned to open in 2027.",
]


def main() -> None:
    SAMPLE_DIR.mkdir(parents=True, exist_ok=True)
    target = SAMPLE_DIR / "valmara-port-annual-report-2025.pdf"
    write_text_pdf(target, VALMARA_REPORT, title="Port of Valmara - Annual Report 2025")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
