/*! MP Checkout live updates before the wasm runs (docs/checkout.md) */
(function(){"use strict";
var d=document,w=window,e=d.getElementById("mp-state");if(!e)return;
var s=JSON.parse(e.textContent),o=s.order||{},L=w.mpLive={stopped:0,last:null,es:null};
function post(m){if(w.parent===w)return;m.source="mp-checkout";m.order_id=o.id;(s.origins||[]).forEach(function(x){try{w.parent.postMessage(m,x)}catch(_){}})}
var h0=0;function size(){var h=Math.ceil(d.documentElement.getBoundingClientRect().height);if(h!==h0){h0=h;post({type:"resize",height:h})}}
if(w.ResizeObserver)new ResizeObserver(size).observe(d.body);size();
if(s.embed==="modal"){d.addEventListener("click",function(ev){if(ev.target.closest&&ev.target.closest("#close"))post({type:"closed"})});d.addEventListener("keydown",function(ev){if(ev.key==="Escape")post({type:"closed"})})}
var T=/^(PAID|UNDERPAID|EXPIRED|FROZEN|CANCELED)$/;if(!o.id||T.test(o.status))return;
function key(v){return [v.status,v.network,v.address,v.amount_paid,v.amount_pending,v.amount_late,(v.payments||[]).map(function(p){return p.tx_hash+p.confirmations+p.status}).join()].join("|")}
var k=key(o),busy=0,again=0;
function refresh(){if(L.stopped)return;if(busy){again=1;return}busy=1;
fetch(location.href,{cache:"no-store"}).then(function(r){return r.text()}).then(function(t){busy=0;if(L.stopped)return;
var n=new DOMParser().parseFromString(t,"text/html"),m=n.getElementById("checkout"),x=n.getElementById("mp-state"),c=d.getElementById("checkout");
if(m&&x&&c){c.replaceWith(d.importNode(m,true));e.textContent=x.textContent}if(again){again=0;refresh()}},function(){busy=0})}
var es=L.es=new EventSource("/v1/checkout/"+encodeURIComponent(o.id)+"/events");
es.onmessage=function(ev){if(L.stopped)return;var v;try{v=JSON.parse(ev.data).order}catch(_){return}if(!v||v.id!==o.id)return;L.last=v;
var c=d.getElementById("checkout"),h=d.getElementById("status-title");
if(c&&c.getAttribute("data-status")!==v.status){c.setAttribute("data-status",v.status);if(h&&s.titles&&s.titles[v.status])h.textContent=s.titles[v.status]}
var nk=key(v);if(nk!==k){k=nk;refresh()}if(T.test(v.status))es.close()};
d.addEventListener("click",function(ev){var b=ev.target.closest&&ev.target.closest("[data-switch-network]");if(!b||L.stopped||b.disabled)return;b.disabled=true;
fetch("/v1/checkout/"+encodeURIComponent(o.id)+"/network",{method:"POST",cache:"no-store",headers:{"Content-Type":"application/json"},body:JSON.stringify({network:b.getAttribute("data-switch-network")})}).then(function(){refresh()},function(){})});
L.stop=function(){L.stopped=1;es.onmessage=null}})();
