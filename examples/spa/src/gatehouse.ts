import { createGatehouseClient } from '@gatehouse/client';

/**
 * The page's one Gatehouse client. Every request to the gateway goes through it, so the CSRF
 * header is never forgotten and a 401 anywhere brings the sign-in page back.
 */
export const gatehouse = createGatehouseClient();
