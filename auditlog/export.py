"""CSV export of the audit log: streamed row by row, so memory stays flat however long the log is."""

import csv
import json
from collections.abc import Iterable, Iterator

from django.http import StreamingHttpResponse
from django.utils import timezone

from config.spreadsheets import Echo, csv_cell

CSV_COLUMNS = [
    "id", "created_at", "actor_user", "actor_label", "actor_id", "action", "object_type", "object_id",
    "changes", "ip", "user_agent", "request_id",
]


def audit_log_csv_rows(queryset) -> Iterator[str]:
    writer = csv.writer(Echo())
    yield writer.writerow(CSV_COLUMNS)
    rows: Iterable = queryset.values_list(
        "id", "created_at", "actor_user_id", "actor_label", "actor_id", "action", "object_type", "object_id",
        "changes", "ip", "user_agent", "request_id",
    ).iterator(chunk_size=2000)
    for row in rows:
        row = list(row)
        row[1] = row[1].isoformat()
        row[8] = json.dumps(row[8], ensure_ascii=False, sort_keys=True)
        yield writer.writerow([csv_cell(value) for value in row])


def audit_log_csv_response(*, queryset, store_slug: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(audit_log_csv_rows(queryset), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="audit-log-{store_slug}-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response
