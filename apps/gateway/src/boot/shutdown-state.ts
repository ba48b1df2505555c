import { Injectable } from '@nestjs/common';

/** Set when a shutdown began: /ready turns 503 so load balancers stop sending traffic. */
@Injectable()
export class ShutdownState {
  draining = false;
}
