import { Provider } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@app/common';
import { loadPriceList, PriceList } from './price-list';

/** The PriceList from PRICES_FILE, or null when unset (reports then carry no costs). */
export const PRICE_LIST = Symbol('PRICE_LIST');

export const priceListProvider: Provider = {
  provide: PRICE_LIST,
  inject: [APP_CONFIG],
  useFactory: (config: AppConfig): PriceList | null => {
    const path = config.raw.PRICES_FILE;
    return typeof path === 'string' && path !== '' ? loadPriceList(path) : null;
  },
};
