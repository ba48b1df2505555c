import { ApiError } from '@app/common';
import { itemsPage } from './items-page';

const items = ['a', 'b', 'c', 'd'].map((id) => ({ id }));
const ids = (page: { data: { id: string }[] }) => page.data.map((i) => i.id);

describe('itemsPage', () => {
  it('newest first by default, oldest first with order=asc; pages after an id', () => {
    expect(ids(itemsPage(items, {}))).toEqual(['d', 'c', 'b', 'a']);
    expect(itemsPage(items, { limit: '2' })).toMatchObject({ first_id: 'd', last_id: 'c', has_more: true });
    expect(itemsPage(items, { limit: '2', after: 'c' })).toMatchObject({
      data: [{ id: 'b' }, { id: 'a' }],
      has_more: false,
    });
    expect(ids(itemsPage(items, { order: 'asc', after: 'a', limit: '1' }))).toEqual(['b']);
  });
  it.each([[{ limit: '0' }], [{ limit: '101' }], [{ order: 'up' }], [{ after: 'zz' }]])(
    '%j is a 400',
    (q) => {
      expect(() => itemsPage(items, q)).toThrow(ApiError);
    },
  );
});
