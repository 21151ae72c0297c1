package widget

// The network choice's texts, merged into each locale's table. This file's init runs after
// the ones that create the tables (i18n_en_zh.go, i18n_more.go): the go tool initialises a
// package's files in file name order.

func init() {
	for lang, m := range map[string]map[msg]string{
		"en": {
			mSwitchLabel:  "Choose your network",
			mSwitchHint:   "Pick the network your wallet sends USDT on. Changing it gives this order a new address: send only to the address shown.",
			mFeeLow:       "Lower network fee",
			mFeeHigh:      "Higher network fee",
			mSwitchFailed: "The network could not be changed. Try again, or pay on %s.",
		},
		"zh": {
			mSwitchLabel:  "选择转账网络",
			mSwitchHint:   "请选择你的钱包转出 USDT 所用的网络。切换后本订单会使用新的地址：只向页面上显示的地址转账。",
			mFeeLow:       "网络手续费较低",
			mFeeHigh:      "网络手续费较高",
			mSwitchFailed: "无法切换网络。请重试，或通过 %s 付款。",
		},
		"es": {
			mSwitchLabel:  "Elige tu red",
			mSwitchHint:   "Elige la red por la que tu billetera envía USDT. Al cambiarla, el pedido recibe una dirección nueva: envía solo a la dirección mostrada.",
			mFeeLow:       "Comisión de red más baja",
			mFeeHigh:      "Comisión de red más alta",
			mSwitchFailed: "No se pudo cambiar la red. Inténtalo de nuevo o paga por %s.",
		},
		"pt-BR": {
			mSwitchLabel:  "Escolha sua rede",
			mSwitchHint:   "Escolha a rede pela qual sua carteira envia USDT. Ao trocar, o pedido recebe um novo endereço: envie somente para o endereço mostrado.",
			mFeeLow:       "Taxa de rede menor",
			mFeeHigh:      "Taxa de rede maior",
			mSwitchFailed: "Não foi possível trocar a rede. Tente de novo ou pague pela rede %s.",
		},
		"fr": {
			mSwitchLabel:  "Choisissez votre réseau",
			mSwitchHint:   "Choisissez le réseau sur lequel votre portefeuille envoie des USDT. En changer donne une nouvelle adresse à cette commande : envoyez uniquement à l’adresse affichée.",
			mFeeLow:       "Frais de réseau plus bas",
			mFeeHigh:      "Frais de réseau plus élevés",
			mSwitchFailed: "Le réseau n’a pas pu être changé. Réessayez, ou payez sur %s.",
		},
		"de": {
			mSwitchLabel:  "Netzwerk wählen",
			mSwitchHint:   "Wählen Sie das Netzwerk, über das Ihre Wallet USDT sendet. Ein Wechsel gibt dieser Bestellung eine neue Adresse: Senden Sie nur an die angezeigte Adresse.",
			mFeeLow:       "Niedrigere Netzwerkgebühr",
			mFeeHigh:      "Höhere Netzwerkgebühr",
			mSwitchFailed: "Das Netzwerk konnte nicht gewechselt werden. Versuchen Sie es erneut oder zahlen Sie über %s.",
		},
		"ru": {
			mSwitchLabel:  "Выберите сеть",
			mSwitchHint:   "Выберите сеть, в которой ваш кошелёк отправляет USDT. При смене сети у заказа будет новый адрес: отправляйте только на показанный адрес.",
			mFeeLow:       "Комиссия сети ниже",
			mFeeHigh:      "Комиссия сети выше",
			mSwitchFailed: "Не удалось сменить сеть. Попробуйте ещё раз или оплатите в сети %s.",
		},
		"ja": {
			mSwitchLabel:  "ネットワークを選択",
			mSwitchHint:   "ウォレットが USDT を送金するネットワークを選んでください。切り替えるとこの注文に新しいアドレスが発行されます。表示されているアドレスにのみ送金してください。",
			mFeeLow:       "ネットワーク手数料が安い",
			mFeeHigh:      "ネットワーク手数料が高い",
			mSwitchFailed: "ネットワークを切り替えられませんでした。もう一度お試しいただくか、%s でお支払いください。",
		},
		"ko": {
			mSwitchLabel:  "네트워크 선택",
			mSwitchHint:   "지갑에서 USDT를 보낼 네트워크를 선택하세요. 네트워크를 바꾸면 이 주문에 새 주소가 발급됩니다. 화면에 표시된 주소로만 보내세요.",
			mFeeLow:       "네트워크 수수료 낮음",
			mFeeHigh:      "네트워크 수수료 높음",
			mSwitchFailed: "네트워크를 변경하지 못했습니다. 다시 시도하거나 %s 네트워크로 결제하세요.",
		},
		"ar": {
			mSwitchLabel:  "اختر الشبكة",
			mSwitchHint:   "اختر الشبكة التي ترسل محفظتك USDT عليها. تغييرها يمنح هذا الطلب عنوانًا جديدًا: أرسل فقط إلى العنوان المعروض.",
			mFeeLow:       "رسوم شبكة أقل",
			mFeeHigh:      "رسوم شبكة أعلى",
			mSwitchFailed: "تعذّر تغيير الشبكة. حاول مرة أخرى، أو ادفع على شبكة %s.",
		},
		"tr": {
			mSwitchLabel:  "Ağınızı seçin",
			mSwitchHint:   "Cüzdanınızın USDT gönderdiği ağı seçin. Ağı değiştirmek bu siparişe yeni bir adres verir: yalnızca gösterilen adrese gönderin.",
			mFeeLow:       "Daha düşük ağ ücreti",
			mFeeHigh:      "Daha yüksek ağ ücreti",
			mSwitchFailed: "Ağ değiştirilemedi. Tekrar deneyin ya da %s ağında ödeyin.",
		},
	} {
		for k, v := range m {
			texts[lang][k] = v
		}
	}
}
