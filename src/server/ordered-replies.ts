/**
 * RFC 4254 §4: replies to global requests go out in the order the requests came, because they carry no
 * request id. Some handlers answer later than others (tcpip-forward waits for its listener to bind), so
 * each request that wants a reply takes a place in line, and an answer is held back until every earlier
 * request has been answered.
 */
import type { IncomingGlobalRequest } from '../connection/connection.ts';

interface Place {
  answer?: { success: boolean; data?: Buffer };
  send: (success: boolean, data?: Buffer) => void;
}

export class GlobalReplyOrder {
  private readonly line: Place[] = [];

  /** The same request with a reply() that keeps its place in line. */
  track(request: IncomingGlobalRequest): IncomingGlobalRequest {
    if (!request.wantReply) return request;
    const place: Place = { send: (success, data) => request.reply(success, data) };
    this.line.push(place);
    return {
      name: request.name,
      wantReply: request.wantReply,
      data: request.data,
      reply: (success, data) => {
        if (place.answer) return;
        place.answer = { success, data };
        this.flush();
      },
    };
  }

  private flush(): void {
    while (this.line[0]?.answer) {
      const place = this.line.shift()!;
      place.send(place.answer!.success, place.answer!.data);
    }
  }
}
