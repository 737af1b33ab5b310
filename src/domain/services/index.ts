import type { CustomerMasterPort } from '../customer-master.port.ts';
import type { TerminalManagementPort } from '../terminal-management.port.ts';
import { MerchantLinks } from './lru.ts';
import { createMerchantService } from './merchant-service.ts';
import { createPartnerService } from './partner-service.ts';
import { createTerminalService } from './terminal-service.ts';
import type { Services } from './types.ts';

export type * from './types.ts';
export { MerchantLinks } from './lru.ts';

/** Builds the use cases over the two legacy ports. One link cache is shared by all of them. */
export function createServices(deps: { crm: CustomerMasterPort; tmo: TerminalManagementPort; links?: MerchantLinks }): Services {
  const links = deps.links ?? new MerchantLinks();
  return {
    merchants: createMerchantService({ crm: deps.crm, tmo: deps.tmo, links }),
    partners: createPartnerService({ crm: deps.crm }),
    terminals: createTerminalService({ crm: deps.crm, tmo: deps.tmo, links }),
  };
}
