from rest_framework.pagination import CursorPagination


class NewestFirstCursor(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 50
    max_page_size = 500
    page_size_query_param = "limit"
