"""Lists from the API that page lazily: ``len()`` asks for the total, items arrive a page at a time."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

if TYPE_CHECKING:
    import pandas

    from .http import Http

T = TypeVar("T")
PAGE = 500  # items per request (the API allows 1000)


class PagedList(Sequence[T], Generic[T]):
    """The objects a list route returns, fetched a page at a time as they are used.

    ``len(images)`` costs one small request; ``images[1000]`` fetches only the page that holds it;
    iterating fetches page after page. ``to_pandas()`` makes a DataFrame of every item.
    """

    def __init__(self, http: Http, path: str, params: dict[str, Any], wrap: Callable[[dict], T],
                 page_size: int = PAGE, title: str = ""):
        self._http = http
        self._path = path
        self._params = {k: v for k, v in params.items() if v is not None}
        self._wrap = wrap
        self._page_size = page_size
        self._pages: dict[int, list[T]] = {}
        self._total: int | None = None
        self.title = title or path

    def _page(self, number: int) -> list[T]:
        if number not in self._pages:
            reply = self._http.get(self._path, **self._params, offset=number * self._page_size, limit=self._page_size)
            self._total = reply["total"]
            self._pages[number] = [self._wrap(item) for item in reply["items"]]
        return self._pages[number]

    def __len__(self) -> int:
        if self._total is None:
            if self._pages:
                self._page(min(self._pages))
            else:
                # One item is enough to learn the total; the first page is fetched when used.
                self._total = self._http.get(self._path, **self._params, limit=1)["total"]
        return self._total

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> list[T]: ...

    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(f"index {index} out of range for a list of {n}")
        page = self._page(index // self._page_size)
        offset = index % self._page_size
        if offset >= len(page):  # the list shrank since the total was read
            raise IndexError(f"index {index} out of range (the list changed while it was read)")
        return page[offset]

    def __iter__(self) -> Iterator[T]:
        number = 0
        while True:
            page = self._page(number)
            yield from page
            if len(page) < self._page_size or (number + 1) * self._page_size >= (self._total or 0):
                return
            number += 1

    def first(self) -> T | None:
        """The first item, or None for an empty list."""
        page = self._page(0)
        return page[0] if page else None

    def to_list(self) -> list[T]:
        return list(self)

    def ids(self) -> list[int]:
        return [item.id for item in self]  # type: ignore[attr-defined]

    def rows(self) -> list[dict[str, Any]]:
        """One flat dictionary per item (what ``to_pandas`` tabulates)."""
        return [item.row() if hasattr(item, "row") else dict(item) for item in self]  # type: ignore[call-overload]

    def to_pandas(self) -> pandas.DataFrame:
        """Every item as a row of a DataFrame, indexed by id when the items have one."""
        import pandas

        frame = pandas.DataFrame(self.rows())
        return frame.set_index("id") if "id" in frame.columns else frame

    def __repr__(self) -> str:
        total = f"{len(self)} item{'s' * (len(self) != 1)}"
        shown = ", ".join(repr(item) for item in self._page(0)[:5]) if len(self) else ""
        more = ", ..." if len(self) > 5 else ""
        return f"<{self.title}: {total}{': ' + shown + more if shown else ''}>"

    def _repr_html_(self) -> str:
        from .display import table_html

        first = self._page(0)[:20] if len(self) else []
        return table_html([item.row() if hasattr(item, "row") else dict(item) for item in first],  # type: ignore
                          f"{self.title}: {len(self)} item{'s' * (len(self) != 1)}"
                          + (f" (the first {len(first)} shown)" if len(self) > len(first) else ""))
