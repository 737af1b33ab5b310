import type { Page } from '../model.ts';
import type { PageResult } from './types.ts';

export function toPageResult<T, U>(page: Page<T>, map: (t: T) => U, keep: (t: T) => boolean = () => true): PageResult<U> {
  const last = page.page * page.pageSize >= page.total || page.items.length === 0;
  return {
    items: page.items.filter(keep).map(map),
    nextPage: last ? null : page.page + 1,
    total: page.total,
  };
}
